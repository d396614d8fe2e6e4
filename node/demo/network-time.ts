/**
 * Driving a local test network from outside (tests, the demo): moving the chain's clock and waiting for a state.
 */
import { devRpc } from "../chain/dev-rpc.ts";
import type { DrivenNetwork } from "./driven.ts";

/** Moves the chain's clock forward and mines a block. */
export async function advanceChainTime(
  net: Pick<DrivenNetwork, "chain" | "publicClient">,
  seconds: bigint,
): Promise<void> {
  await devRpc(net.chain.rpcUrl, "evm_increaseTime", [Number(seconds)]);
  await devRpc(net.chain.rpcUrl, "evm_mine");
}

/** Advances the chain's clock just past `timestamp` (no-op if it is already past). */
export async function advancePast(
  net: Pick<DrivenNetwork, "chain" | "publicClient">,
  timestamp: bigint,
): Promise<void> {
  const now = (await net.publicClient.getBlock()).timestamp;
  if (now <= timestamp) await advanceChainTime(net, timestamp - now + 1n);
}

export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
