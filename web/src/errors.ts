/**
 * Turns whatever a wallet, the RPC or a contract threw into one sentence for the user. Contract reverts are
 * decoded from the contracts' custom errors (the ABIs carry them), including the token's ERC-6093 errors that
 * bubble up through the registry.
 */
import { BaseError, ContractFunctionRevertedError, decodeErrorResult, formatUnits } from "viem";
import type { Abi, Hex } from "viem";

import { stakeRegistryAbi, trainingRoundsAbi, vainTokenAbi } from "../../node/chain/generated/contracts.ts";

/** Every custom error any vAIn contract can revert with. */
const ERRORS_ABI: Abi = [...stakeRegistryAbi, ...trainingRoundsAbi, ...vainTokenAbi].filter(
  (item) => item.type === "error",
);

export interface DecodedRevert {
  readonly errorName: string;
  readonly args: readonly unknown[];
}

const vain = (value: unknown): string => `${formatUnits(BigInt(value as bigint), 18)} VAIN`;
const when = (seconds: unknown): string =>
  Number(seconds) === 0 ? "you request an unstake" : new Date(Number(seconds) * 1000).toLocaleString();

/** Human sentences for the errors a dashboard user can cause. */
const EXPLAIN: Readonly<Record<string, (args: readonly unknown[]) => string>> = {
  NothingToClaim: () => "There are no rewards to claim yet.",
  NothingToWithdraw: ([release]) => `Nothing to withdraw until ${when(release)}.`,
  InsufficientActiveStake: ([requested, available]) =>
    `You asked to unstake ${vain(requested)} but only ${vain(available)} is active.`,
  ZeroAmount: () => "The amount must be more than zero.",
  InvalidPeerId: () => "That peer ID is empty or longer than 64 bytes.",
  PeerIdTaken: ([owner]) => `That peer ID is already bound to ${String(owner)}.`,
  NoPeerIdBound: () => "No peer ID is bound to this account.",
  EnforcedPause: () => "Staking is paused by the registry owner.",
  ERC20InsufficientBalance: ([, balance, needed]) =>
    `Insufficient balance: you have ${vain(balance)} and need ${vain(needed)}.`,
  ERC20InsufficientAllowance: ([, allowance, needed]) =>
    `The registry may spend ${vain(allowance)} of your tokens but needs ${vain(needed)} (the permit or approval did not apply).`,
  ERC2612ExpiredSignature: () => "The permit signature expired; try again.",
  ERC2612InvalidSigner: () => "The permit was signed by another account.",
};

/** Decodes the custom error in a revert, if there is one. */
export function decodeRevert(error: unknown): DecodedRevert | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (!(reverted instanceof ContractFunctionRevertedError)) return undefined;
  if (reverted.data !== undefined) {
    return { errorName: reverted.data.errorName, args: reverted.data.args ?? [] };
  }
  if (reverted.raw !== undefined) {
    try {
      const decoded = decodeErrorResult({ abi: ERRORS_ABI, data: reverted.raw as Hex });
      return { errorName: decoded.errorName, args: decoded.args ?? [] };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function codeOf(error: unknown): number | undefined {
  let found: number | undefined;
  if (error instanceof BaseError) {
    error.walk((e) => {
      const code = (e as { code?: unknown }).code;
      if (typeof code === "number" && found === undefined) found = code;
      return false;
    });
  }
  const own = (error as { code?: unknown } | null)?.code;
  return found ?? (typeof own === "number" ? own : undefined);
}

/** One sentence for the user, naming the contract error when there is one. */
export function describeError(error: unknown): string {
  const revert = decodeRevert(error);
  if (revert !== undefined) {
    const explain = EXPLAIN[revert.errorName];
    const args = revert.args.map(String).join(", ");
    return `${explain?.(revert.args) ?? "The contract refused the transaction."} (${revert.errorName}${args === "" ? "" : `: ${args}`})`;
  }
  const code = codeOf(error);
  if (code === 4001) return "You rejected the request in your wallet.";
  if (code === 4100) return "The wallet has not authorised this site: connect again.";
  if (code === 4900 || code === 4901) return "The wallet is disconnected from the chain.";
  const name = error instanceof BaseError ? error.walk().name : "";
  if (error instanceof BaseError) {
    const flat = `${error.name} ${name} ${error.shortMessage}`;
    if (/ChainMismatch/.test(flat))
      return "Your wallet is on another network: switch it to the node's chain.";
    if (/HttpRequestError|TimeoutError|fetch failed|Failed to fetch/i.test(flat)) {
      return "The chain is not answering: is the chain (RPC) running?";
    }
    if (/insufficient funds/i.test(error.details ?? error.shortMessage)) {
      return "Insufficient ETH to pay the transaction fee.";
    }
    return error.shortMessage;
  }
  return error instanceof Error ? error.message : String(error);
}

/** True when the user rejected a wallet prompt (no fallback should be tried then). */
export function isUserRejection(error: unknown): boolean {
  return codeOf(error) === 4001;
}

/** True when the wallet does not implement the method (EIP-1193 4200, JSON-RPC -32601). */
export function isUnsupportedMethod(error: unknown): boolean {
  const code = codeOf(error);
  return code === 4200 || code === -32601;
}
