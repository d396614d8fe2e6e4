/**
 * Draws the current group epoch's seed on an in-process test chain (automining only, no running nodes) as the
 * chain draws it, both steps, with its seed block's `prevrandao` chosen (`hardhat_setPrevRandao`, as
 * `vm.prevrandao` in Solidity tests): `fits` says which seed the test wants (e.g. this operator in that group),
 * and a value giving one is searched (node/demo/group-draw.ts `searchMix`).
 */
import type { Hex } from "viem";

import type { ChainWriteClient } from "../../../node/chain/actions/client.ts";
import { drawGroupSeed } from "../../../node/chain/actions/draw-group-seed.ts";
import { groupEpochAt, readGroupSeedDraw } from "../../../node/chain/actions/read-group-seed.ts";
import type { GroupSeed } from "../../../node/chain/actions/read-group-seed.ts";
import { searchMix } from "../../../node/demo/group-draw.ts";

/** A development-chain call (`evm_mine`, `hardhat_setPrevRandao`) through the client's transport. */
type DevRequest = (args: { method: string; params?: unknown[] }) => Promise<unknown>;

/**
 * How a seed draw waits on Hardhat's simulated chain, which mines only for transactions: it mines its way to the
 * seed block, and takes each step at once (no other node draws).
 */
export function simulatedChainDrawing(publicClient: ChainWriteClient["publicClient"]): {
  mine: () => Promise<void>;
  spreadMs: number;
} {
  const request = publicClient.request as DevRequest;
  return { mine: async () => void (await request({ method: "evm_mine" })), spreadMs: 0 };
}

/** Error: no searched value gives a seed the test wants. */
export class NoFittingSeedError extends Error {
  override readonly name = "NoFittingSeedError";
}

/**
 * Draws it; `tries` values are searched (a composition of k operators in G groups fits one seed in G^k: 65,536
 * by default; the epoch is the chain's, so a test must search enough never to miss on any day).
 */
export async function drawSeedThat(
  c: ChainWriteClient,
  fits: (seed: Hex) => boolean,
  tries?: number,
): Promise<GroupSeed> {
  const epoch = groupEpochAt((await c.publicClient.getBlock()).timestamp);
  const { mix, found } = searchMix(epoch, fits, tries);
  if (!found) throw new NoFittingSeedError(`no seed of epoch ${epoch} fits`);
  const request = c.publicClient.request as DevRequest;
  const simulated = simulatedChainDrawing(c.publicClient);
  // The draw mines while it waits for its seed block; the value is set for that block only.
  const mine = async (): Promise<void> => {
    const [{ seedBlock }, head] = await Promise.all([
      readGroupSeedDraw(c, { epoch }),
      c.publicClient.getBlockNumber({ cacheTime: 0 }),
    ]);
    if (head + 1n === seedBlock) await request({ method: "hardhat_setPrevRandao", params: [mix] });
    await simulated.mine();
  };
  return drawGroupSeed(c, { ...simulated, mine });
}
