/**
 * Which staking actions can do something right now, and if not, why: a disabled button always comes with a
 * reason the page shows beside it (a button that is enabled but can only fail is a trap). Pure, so the page and
 * its unit tests agree.
 */
import { formatDuration, formatVain } from "./format.ts";
import { peerIdToChainBytes } from "./peer-id.ts";
import type { Position } from "./staking.ts";

export type ActionId = "stake" | "unstake" | "withdraw" | "claim" | "bind";

export interface AvailabilityInput {
  readonly connected: boolean;
  /** Name of the node's chain when the wallet is on another one. */
  readonly wrongChain?: string;
  readonly chainDown: boolean;
  /** The node found the chain reset at its URL: the contracts it names are gone. */
  readonly chainReset: boolean;
  readonly busy: boolean;
  readonly position?: Position;
  /** Chain time now, unix ms (the unbonding release runs on chain time). */
  readonly nowMs: number;
  /** What the peer ID field holds. */
  readonly peerIdInput: string;
}

/** Disabled reason per action; `undefined`: the action can act. */
export type Availability = Readonly<Record<ActionId, string | undefined>>;

export function actionAvailability(input: AvailabilityInput): Availability {
  const blocked = commonReason(input);
  const position = input.position;
  if (blocked !== undefined || position === undefined) {
    const reason = blocked ?? "Reading your position from the chain…";
    return { stake: reason, unstake: reason, withdraw: reason, claim: reason, bind: reason };
  }
  return {
    stake: position.balance === 0n ? "You hold no VAIN to stake." : undefined,
    unstake: position.active === 0n ? "Nothing is staked." : undefined,
    withdraw: withdrawReason(position, input.nowMs),
    claim:
      position.claimable === 0n
        ? "Nothing to claim yet: rewards are credited when a round you took part in closes."
        : undefined,
    bind: bindReason(position, input.peerIdInput),
  };
}

function commonReason(input: AvailabilityInput): string | undefined {
  if (!input.connected) return "Connect a wallet first.";
  if (input.wrongChain !== undefined) return `Switch your wallet to ${input.wrongChain}.`;
  if (input.chainReset) return "The chain was reset: this node's contracts are gone (see the banner).";
  if (input.chainDown) return "The chain is not answering.";
  if (input.busy) return "Wait for the pending transaction.";
  return undefined;
}

function withdrawReason(position: Position, nowMs: number): string | undefined {
  if (position.unbonding === 0n) return "Nothing is unbonding.";
  const remaining = Number(position.releaseTime) * 1000 - nowMs;
  return remaining > 0 ? `Unbonding: withdrawable in ${formatDuration(remaining)}.` : undefined;
}

function bindReason(position: Position, peerIdInput: string): string | undefined {
  if (position.active < position.minStake) {
    return `Binding needs at least ${formatVain(position.minStake)} staked (you have ${formatVain(position.active)}).`;
  }
  const text = peerIdInput.trim();
  if (text === "") return "Enter your node's peer ID.";
  let bytes: string;
  try {
    bytes = peerIdToChainBytes(text);
  } catch {
    return "That is not a peer ID (12D3KooW… or 0x…).";
  }
  return bytes.toLowerCase() === position.peerId.toLowerCase()
    ? "This peer ID is already bound to your account."
    : undefined;
}
