/**
 * vAIn's chain actions, one per file, viem-style: `action(client, parameters)` with exported
 * `XParameters`/`XReturnType`, all writes on `writeContractAndWait` (write.ts). The CLI, the node, the
 * dashboard and the test fixtures call these; a new action is one new file here plus its export line.
 */
export { accountOf } from "./client.ts";
export type { ChainReadClient, ChainWriteClient, ProtocolAddresses, TxProgress } from "./client.ts";
export { MissingEventError, readChain, sendAndWait, writeContractAndWait } from "./write.ts";
export type {
  DecodedEvent,
  SendClient,
  WriteContractAndWaitParameters,
  WriteContractAndWaitReturnType,
} from "./write.ts";
export { bindPeerId } from "./bind-peer-id.ts";
export type { BindPeerIdParameters, BindPeerIdReturnType } from "./bind-peer-id.ts";
export { claim } from "./claim.ts";
export type { ClaimReturnType } from "./claim.ts";
export { claimDelegationRewards } from "./claim-delegation-rewards.ts";
export type {
  ClaimDelegationRewardsParameters,
  ClaimDelegationRewardsReturnType,
} from "./claim-delegation-rewards.ts";
export { delegate } from "./delegate.ts";
export type { DelegateParameters, DelegateReturnType } from "./delegate.ts";
export { createTask, taskChunkCount, taskConfig, taskRuleId, taskRuleName } from "./create-task.ts";
export type { CreateTaskParameters, CreateTaskReturnType, TaskConfig, TaskRule } from "./create-task.ts";
export { ensureAllowance } from "./ensure-allowance.ts";
export type { EnsureAllowanceParameters, EnsureAllowanceReturnType } from "./ensure-allowance.ts";
export { fundTask } from "./fund-task.ts";
export type { FundTaskParameters, FundTaskReturnType } from "./fund-task.ts";
export { commitPartial } from "./commit-partial.ts";
export {
  MAX_GROUPS,
  PARTIAL_COMMIT_MARGIN_S,
  createGroupTasks,
  longestRoundS,
  parentCommitWindowS,
  scheduleOf,
} from "./create-group-tasks.ts";
export type {
  CreateGroupTasksParameters,
  CreateGroupTasksReturnType,
  GroupSchedule,
  HierarchyLevels,
} from "./create-group-tasks.ts";
export type { CommitPartialParameters, CommitPartialReturnType } from "./commit-partial.ts";
export { linkTask } from "./link-task.ts";
export type { LinkTaskParameters, LinkTaskReturnType } from "./link-task.ts";
export { readGroupTasks, readParentTask } from "./read-task-links.ts";
export type { ReadTaskLinksParameters } from "./read-task-links.ts";
export {
  groupEpochAt,
  groupEpochEndS,
  readGroupSeed,
  readGroupSeedDraw,
  readSeedEligibility,
} from "./read-group-seed.ts";
export type {
  GroupSeed,
  ReadGroupSeedDrawReturnType,
  ReadGroupSeedParameters,
  ReadGroupSeedReturnType,
  ReadSeedEligibilityParameters,
} from "./read-group-seed.ts";
export { drawGroupSeed, GroupSeedDrawError } from "./draw-group-seed.ts";
export type { DrawGroupSeedParameters, DrawGroupSeedReturnType } from "./draw-group-seed.ts";
export { openRound } from "./open-round.ts";
export type { OpenRoundParameters, OpenRoundReturnType } from "./open-round.ts";
export { readActiveStake } from "./read-active-stake.ts";
export { readCommission } from "./read-commission.ts";
export type { ReadCommissionParameters, ReadCommissionReturnType } from "./read-commission.ts";
export { readDelegations } from "./read-delegations.ts";
export type {
  DelegationEntry,
  PoolSlash,
  ReadDelegationsParameters,
  ReadDelegationsReturnType,
} from "./read-delegations.ts";
export { readOperators } from "./read-operators.ts";
export type {
  OperatorEntry,
  OperatorSlash,
  ReadOperatorsParameters,
  ReadOperatorsReturnType,
} from "./read-operators.ts";
export type { ReadActiveStakeParameters, ReadActiveStakeReturnType } from "./read-active-stake.ts";
export { operatorReadinessWarnings, readOperatorReadiness } from "./read-operator-readiness.ts";
export type {
  OperatorReadinessFacts,
  OperatorReadinessWarning,
  OperatorReadinessWarningCode,
  ReadOperatorReadinessParameters,
  ReadOperatorReadinessReturnType,
} from "./read-operator-readiness.ts";
export { requestUnstake } from "./request-unstake.ts";
export type { RequestUnstakeParameters, RequestUnstakeReturnType } from "./request-unstake.ts";
export { setAggregatorOptIn } from "./set-aggregator-opt-in.ts";
export type { SetAggregatorOptInParameters, SetAggregatorOptInReturnType } from "./set-aggregator-opt-in.ts";
export { setCommission } from "./set-commission.ts";
export type { SetCommissionParameters, SetCommissionReturnType } from "./set-commission.ts";
export { sendEther } from "./send-ether.ts";
export type { SendEtherParameters, SendEtherReturnType } from "./send-ether.ts";
export { transferTokens } from "./transfer-tokens.ts";
export type { TransferTokensParameters, TransferTokensReturnType } from "./transfer-tokens.ts";
export { PERMIT_TYPES, signPermit } from "./sign-permit.ts";
export type { SignPermitParameters, SignPermitReturnType } from "./sign-permit.ts";
export { AllowanceLeftError, isUserRejection, stake } from "./stake.ts";
export type { StakeMethod, StakeParameters, StakeReturnType } from "./stake.ts";
export { undelegate } from "./undelegate.ts";
export type { UndelegateParameters, UndelegateReturnType } from "./undelegate.ts";
export { NothingToWithdrawError, formatWait, withdraw } from "./withdraw.ts";
export type { WithdrawReturnType } from "./withdraw.ts";
export { withdrawDelegation } from "./withdraw-delegation.ts";
export type { WithdrawDelegationParameters, WithdrawDelegationReturnType } from "./withdraw-delegation.ts";
