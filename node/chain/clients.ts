/**
 * viem clients for an RPC endpoint, with the failures a user can cause (bad URL, chain down) turned into
 * typed errors with one-line messages.
 */
import { createPublicClient, createWalletClient, defineChain, http } from "viem";
import type { Account, Chain, PublicClient, Transport, WalletClient } from "viem";

import { ChainUnreachableError, InvalidRpcUrlError } from "./errors.ts";

/** Default local chain endpoint (`npx hardhat node`). */
export const DEFAULT_RPC_URL = "http://127.0.0.1:8545";
/** How long one RPC request may take before the chain counts as unreachable. */
export const RPC_TIMEOUT_MS = 10_000;

export interface ChainClients {
  readonly chain: Chain;
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly walletClient?: WalletClient<Transport, Chain, Account>;
}

/** Throws `InvalidRpcUrlError` unless `rpcUrl` is an http(s) URL. */
export function assertRpcUrl(rpcUrl: string): void {
  let url: URL;
  try {
    url = new URL(rpcUrl);
  } catch {
    throw new InvalidRpcUrlError(rpcUrl);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new InvalidRpcUrlError(rpcUrl);
}

/** A viem chain definition for a local EVM chain reached at `rpcUrl`. */
export function localChain(chainId: number, rpcUrl: string): Chain {
  return defineChain({
    id: chainId,
    name: chainId === 31337 ? "Hardhat" : `Chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/** How patient the clients are with a slow endpoint. */
export interface ConnectOptions {
  /** One request's deadline (default RPC_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** Retries of a failed request (default 1). */
  readonly retryCount?: number;
}

/**
 * Connects to `rpcUrl`: validates it, asks the chain ID (so a down chain fails here with a clear message)
 * and returns a public client, plus a wallet client when `account` is given.
 */
export async function connectChain(
  rpcUrl: string,
  account?: Account,
  options: ConnectOptions = {},
): Promise<ChainClients> {
  assertRpcUrl(rpcUrl);
  const transport = http(rpcUrl, {
    timeout: options.timeoutMs ?? RPC_TIMEOUT_MS,
    retryCount: options.retryCount ?? 1,
  });
  let chainId: number;
  try {
    chainId = await createPublicClient({ transport }).getChainId();
  } catch (error) {
    throw new ChainUnreachableError(rpcUrl, error);
  }
  const chain = localChain(chainId, rpcUrl);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 250 });
  const walletClient =
    account === undefined
      ? undefined
      : createWalletClient({ chain, transport, account, pollingInterval: 250 });
  return { chain, publicClient, walletClient };
}
