/**
 * Turns what viem throws when a transaction or its simulation fails into one typed, one-line error.
 * Reverts are decoded against the custom errors of all vAIn contracts together, because a call to one
 * contract often reverts in another (`stake` → the token's `ERC20InsufficientBalance`), and the common ones
 * are explained in words with the fix.
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  HttpRequestError,
  InsufficientFundsError,
  TimeoutError,
  decodeErrorResult,
} from "viem";
import type { Abi, Hex } from "viem";

/** One custom error entry of an ABI. */
type AbiError = Extract<Abi[number], { type: "error" }>;

import { formatTokens } from "./amounts.ts";
import { stakeRegistryAbi, trainingRoundsAbi, vainTokenAbi } from "./contracts.ts";
import { ChainError, ChainUnreachableError } from "./errors.ts";

/** Every custom error of the token, registry and rounds contracts, deduplicated by selector name. */
export const VAIN_ERRORS_ABI: readonly AbiError[] = (() => {
  const byName = new Map<string, AbiError>();
  for (const item of [...vainTokenAbi, ...stakeRegistryAbi, ...trainingRoundsAbi] as Abi) {
    if (item.type === "error" && !byName.has(item.name)) byName.set(item.name, item);
  }
  return [...byName.values()];
})();

/** A decoded custom error: its name and its arguments by parameter name. */
export interface DecodedRevert {
  readonly errorName: string;
  readonly args: Readonly<Record<string, unknown>>;
}

/** A transaction (or its simulation) reverted; `errorName`/`args` say why, `shortMessage` in words. */
export class TransactionRevertedError extends ChainError {
  override readonly name = "TransactionRevertedError";
  readonly action: string;
  readonly errorName: string | undefined;
  readonly args: Readonly<Record<string, unknown>>;
  constructor(action: string, revert: DecodedRevert | undefined, detail: string, cause?: unknown) {
    super("TX_REVERTED", `${action} failed: ${detail}`, { cause });
    this.action = action;
    this.errorName = revert?.errorName;
    this.args = revert?.args ?? {};
  }
}

/** The sender cannot pay for gas. */
export class InsufficientGasFundsError extends ChainError {
  override readonly name = "InsufficientGasFundsError";
  constructor(action: string, cause?: unknown) {
    super(
      "INSUFFICIENT_GAS_FUNDS",
      `${action} failed: the account has not enough ETH to pay for gas (fund it first)`,
      { cause },
    );
  }
}

/** A mined transaction failed without a decodable reason (e.g. out of gas). */
export class TransactionFailedError extends ChainError {
  override readonly name = "TransactionFailedError";
  constructor(action: string, hash: Hex) {
    super("TX_FAILED", `${action} failed: transaction ${hash} reverted on chain`);
  }
}

/** Decodes revert data against {@link VAIN_ERRORS_ABI}; undefined for unknown selectors. */
export function decodeRevertData(data: Hex | undefined): DecodedRevert | undefined {
  if (data === undefined || data === "0x" || data.length < 10) return undefined;
  try {
    const decoded = decodeErrorResult({ abi: VAIN_ERRORS_ABI, data });
    const item = VAIN_ERRORS_ABI.find((e) => e.name === decoded.errorName);
    const values = (decoded.args ?? []) as readonly unknown[];
    const args: Record<string, unknown> = {};
    item?.inputs.forEach((input, i) => (args[input.name ?? `arg${i}`] = values[i]));
    return { errorName: decoded.errorName, args };
  } catch {
    return undefined;
  }
}

function formatArg(value: unknown): string {
  return typeof value === "bigint" ? value.toString() : String(value);
}

/** `Name(key=value, …)`: the raw form, shown for errors without a friendlier text. */
export function formatRevert(revert: DecodedRevert): string {
  const parts = Object.entries(revert.args).map(([k, v]) => `${k}=${formatArg(v)}`);
  return `${revert.errorName}(${parts.join(", ")})`;
}

function isoTime(seconds: unknown): string {
  return typeof seconds === "bigint" || typeof seconds === "number"
    ? new Date(Number(seconds) * 1000).toISOString()
    : String(seconds);
}

function tokens(value: unknown): string {
  return typeof value === "bigint" ? formatTokens(value) : String(value);
}

/** Words for the reverts an operator meets in normal use; undefined for the rest. */
export function explainRevert(revert: DecodedRevert): string | undefined {
  const a = revert.args;
  switch (revert.errorName) {
    case "ZeroAmount":
      return "the amount must be greater than zero";
    case "InsufficientActiveStake":
      return `cannot unstake ${tokens(a["requested"])}: only ${tokens(a["available"])} is actively staked`;
    case "NothingToWithdraw":
      return a["releaseTime"] === 0n
        ? "nothing to withdraw: no stake is unbonding (start with `vain-node unstake <amount>`)"
        : `nothing to withdraw yet: the next unbonding request is released at ${isoTime(a["releaseTime"])}`;
    case "TooManyUnbondingEntries":
      return `${formatArg(a["max"])} unstake requests are already pending: withdraw the released ones first (\`vain-node withdraw\`)`;
    case "DelegationNotReleased":
      return a["releaseTime"] === 0n
        ? "nothing to withdraw: nothing is undelegating from this operator (start with `vain-node undelegate`)"
        : `nothing to withdraw yet: the undelegation is released at ${isoTime(a["releaseTime"])}`;
    case "NoDelegationRewards":
      return "no delegation rewards to claim from this operator yet";
    case "CommissionAboveLimit":
      return `the operator's commission (now or queued) is ${formatArg(a["commissionBps"])} bps, above your limit of ${formatArg(a["maxCommissionBps"])} bps`;
    case "DelegationCapExceeded":
      return `the operator can take only ${tokens(a["available"])} more delegation (at most 9 x its self-stake)`;
    case "PeerIdTaken":
      return `this peer ID is already bound to operator ${String(a["owner"])}, which holds the minimum stake (generate a new node key)`;
    case "InsufficientStakeToBind":
      return `binding a peer ID needs the minimum stake of ${tokens(a["minStake"])}; the operator has ${tokens(a["activeStake"])} (\`vain-node stake <amount>\` first)`;
    case "SlasherNotSet":
      return "staking is not open yet: the registry's owner has not fixed the slasher (the deployment is incomplete)";
    case "ERC2612InvalidSigner":
      return `the permit signature is not the operator's (it recovers to ${String(a["signer"])}, not ${String(a["owner"])})`;
    case "ERC2612ExpiredSignature":
      return `the permit expired at ${isoTime(a["deadline"])}: sign a new one (run the command again)`;
    case "PermitFailed":
      return "the token refused the permit without a reason: use approve + stake (`--no-permit`)";
    case "InvalidPeerId":
      return "the peer ID must be 1 to 64 bytes";
    case "EnforcedPause":
      return "the contract is paused by its owner (staking, binding, tasks and rounds are stopped; unstake, withdraw and claim still work)";
    case "ERC20InsufficientBalance":
      return `insufficient VAIN balance: have ${tokens(a["balance"])}, need ${tokens(a["needed"])}`;
    case "ERC20InsufficientAllowance":
      return `allowance too small: approved ${tokens(a["allowance"])}, need ${tokens(a["needed"])}`;
    case "NothingToClaim":
      return "nothing to claim: no rewards or bonds are credited to this account";
    case "UnknownTask":
      return `task ${formatArg(a["taskId"])} does not exist`;
    case "RoundNotDue":
      return `the task's next round is not due until ${isoTime(a["nextOpenTime"])}`;
    case "RoundStillActive":
      return `round ${formatArg(a["roundId"])} of this task is still active`;
    case "EmptyRewardPool":
      return `task ${formatArg(a["taskId"])} has no funds left: fund it with \`vain-node task fund\``;
    case "InvalidSchedule":
      return "invalid windows: each must be >= 5 s, and commit + 4 × aggregate (selection, aggregator, backup takeover, backup) + challenge + 16 × answer + dispute <= 12 h, the longest a round may run";
    case "NotActiveOperator":
      return `${String(a["account"])} is not an active operator (stake at least the minimum first)`;
    case "RoundFull":
      return `the round already has its ${formatArg(a["maxTrainers"])} trainers and this operator's stake outweighs none of them`;
    case "DeadlinePassed":
      return `too late: the deadline passed at ${isoTime(a["deadline"])}`;
    case "TooManyCandidates":
      return "the aggregator candidate list is full (64)";
    default:
      return undefined;
  }
}

/**
 * Maps anything thrown while simulating, sending or waiting for a transaction into a typed error.
 * Errors that are not the user's (bugs, unknown failures) are returned unchanged so the CLI reports them
 * as unexpected.
 */
export function toChainError(action: string, error: unknown, rpcUrl?: string): unknown {
  if (error instanceof ChainError) return error;
  if (!(error instanceof BaseError)) return error;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError) {
    const decoded =
      decodeRevertData(reverted.raw) ??
      (reverted.data === undefined
        ? undefined
        : {
            errorName: reverted.data.errorName,
            args: Object.fromEntries(
              ((reverted.data.args ?? []) as readonly unknown[]).map((v, i) => [
                reverted.data?.abiItem.type === "error"
                  ? (reverted.data.abiItem.inputs[i]?.name ?? `arg${i}`)
                  : `arg${i}`,
                v,
              ]),
            ),
          });
    if (decoded !== undefined) {
      const words = explainRevert(decoded);
      const detail = words === undefined ? formatRevert(decoded) : `${words} (${decoded.errorName})`;
      return new TransactionRevertedError(action, decoded, detail, error);
    }
    const reason = reverted.reason ?? reverted.signature ?? "reverted without a reason";
    return new TransactionRevertedError(action, undefined, reason, error);
  }
  if (error.walk((e) => e instanceof InsufficientFundsError) instanceof InsufficientFundsError) {
    return new InsufficientGasFundsError(action, error);
  }
  const transport = error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError);
  if (transport !== null && transport !== undefined && rpcUrl !== undefined) {
    return new ChainUnreachableError(rpcUrl, error);
  }
  return error;
}
