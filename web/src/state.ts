/**
 * The dashboard's state, shared by its views and actions, and the hooks main.ts installs so that an action can
 * re-render the page and re-read the chain without a module cycle.
 */
import type { Address, Chain, PublicClient, Transport } from "viem";

import type { NodeStatus } from "./api.ts";
import type { Position } from "./staking.ts";
import type { DiscoveredWallet } from "./wallet.ts";

export interface State {
  status?: NodeStatus;
  chain?: Chain;
  publicClient?: PublicClient<Transport, Chain>;
  wallets: readonly DiscoveredWallet[];
  wallet?: DiscoveredWallet;
  account?: Address;
  walletChainId?: number;
  position?: Position;
  totalStake?: bigint;
  /** Latest block time and when it was read, for countdowns on chain time. */
  blockTimeMs?: number;
  blockReadAt: number;
  nodeDown: boolean;
  chainDown: boolean;
  live: boolean;
  busy: boolean;
  peerIdPrefilled: boolean;
}

export const state: State = {
  wallets: [],
  blockReadAt: 0,
  nodeDown: false,
  chainDown: false,
  live: false,
  busy: false,
  peerIdPrefilled: false,
};

/** Installed by main.ts. */
export const hooks = {
  render: (): void => undefined,
  refreshChain: (): Promise<void> => Promise.resolve(),
};

export function chainName(chainId: number): string {
  return chainId === 31337 ? `Hardhat (${chainId})` : `chain ${chainId}`;
}

/** Chain time now: the latest block's time advanced by the wall clock, never behind the wall clock. */
export function chainNowMs(): number {
  if (state.blockTimeMs === undefined) return Date.now();
  return Math.max(Date.now(), state.blockTimeMs + (Date.now() - state.blockReadAt));
}

export function onRightChain(): boolean {
  return state.status !== undefined && state.walletChainId === state.status.chainId;
}

/** The node is paused (chain reset, full disk): what it shows is stale until its operator acts. */
export function nodePaused(): boolean {
  return (state.status?.alerts ?? []).length > 0;
}

/** "(you)" when `address` is this node's operator or the connected wallet's account. */
export function youMark(address: string | undefined): string {
  if (address === undefined) return "";
  const lower = address.toLowerCase();
  const mine = [state.status?.operator, state.account].some((a) => a?.toLowerCase() === lower);
  return mine ? " (you)" : "";
}
