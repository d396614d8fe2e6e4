/** ABIs and bytecode of the vAIn contracts (generated from the Hardhat artifacts, committed). */
export {
  aggregationVerifierAbi,
  aggregationVerifierBytecode,
  groth16VerifierAbi,
  groth16VerifierBytecode,
  linkAggregationVerifierAbi,
  linkAggregationVerifierBytecode,
  linkGroth16VerifierAbi,
  linkGroth16VerifierBytecode,
  poseidonLinkStatementSegments,
  poseidonLinkTrainersSegments,
  poseidonStatementSegments,
  stakeRegistryAbi,
  stakeRegistryBytecode,
  testAggregationVerifierAbi,
  testAggregationVerifierBytecode,
  trainingRoundsAbi,
  trainingRoundsBytecode,
  vainTokenAbi,
  vainTokenBytecode,
} from "./generated/contracts.ts";

/** Slash reason codes carried in `StakeRegistry.Slashed` (see docs/protocol.md §2). */
export const SLASH_REASON = {
  wrongAggregate: 1,
  missedDeadline: 2,
  aggregatorEquivocation: 3,
  trainerEquivocation: 4,
} as const;

/**
 * `TrainingRounds` round states (`ITrainingRounds.RoundState`, docs/protocol.md §3), as the contract
 * numbers them. A const object rather than a TS `enum` because the node runs TypeScript by type stripping.
 */
export const RoundState = {
  None: 0,
  Open: 1,
  Aggregating: 2,
  Challenging: 3,
  Finalized: 4,
  Failed: 5,
} as const;
export type RoundState = (typeof RoundState)[keyof typeof RoundState];

/** `TrainingRounds` challenge states (`ITrainingRounds.ChallengeStatus`, docs/protocol.md §5), as the contract numbers them. */
export const ChallengeStatus = {
  None: 0,
  Pending: 1,
  Answered: 2,
  Failed: 3,
} as const;
export type ChallengeStatus = (typeof ChallengeStatus)[keyof typeof ChallengeStatus];

/** Lower-case names of round states, by number (status lines, the dashboard). */
export const ROUND_STATE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(RoundState).map(([name, value]) => [value, name.toLowerCase()]),
);
