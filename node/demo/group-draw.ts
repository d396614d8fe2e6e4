/**
 * Group membership on a local test network follows the chain's rule (docs/protocol.md §7): the group epoch's seed
 * draws every operator's group, and a group round takes updates only from its drawn members. A test that wants a
 * chosen composition (these nodes together, that one elsewhere) gets it the way the chain would give it: the
 * drawing block's `prevrandao` is set first (`hardhat_setPrevRandao`, the local chain's counterpart of Solidity
 * tests' `vm.prevrandao`), searching for a seed under which the rule itself puts each listed node where asked.
 * When no seed within SEED_TRIES does (a bench's hundreds of nodes), the seed falls as it may and the caller takes
 * the groups it drew.
 */
import { keccak256, toHex } from "viem";
import type { Address, Hex } from "viem";

import { drawGroupSeed } from "../chain/actions/draw-group-seed.ts";
import { groupEpochAt, groupEpochEndS, readGroupSeed } from "../chain/actions/read-group-seed.ts";
import { devRpc } from "../chain/dev-rpc.ts";
import type { LocalVainNetwork } from "./network.ts";
import { advancePast } from "./network-time.ts";

/** Seeds tried for a chosen composition: 6 nodes placed at two levels of two (1 in 4,096) fail 1 in e^16. */
export const SEED_TRIES = 65_536;

/** Epochs tried when another transaction takes the block whose prevrandao was set. */
const DRAW_ATTEMPTS = 3;

/** Where a node falls under a seed: its leaf's key (any string), or the first mismatch found stops the search. */
export type LeafOf = (operator: Address, seed: Hex) => string;

/**
 * Draws a fresh group epoch's seed for `net` (the chain moves to the next epoch if the current one's is drawn)
 * under which `leafOf(node i) === wanted.get(i)` for every listed node, if one of SEED_TRIES candidates does;
 * else the first candidate. Returns the drawn seed and whether the wanted composition holds.
 */
export async function drawGroups(
  net: LocalVainNetwork,
  leafOf: LeafOf,
  wanted: ReadonlyMap<number, string>,
): Promise<{ seed: Hex; chosen: boolean }> {
  const client = { publicClient: net.publicClient, contracts: net.contracts };
  const listed = [...wanted.entries()].map(([index, leaf]) => ({
    address: net.nodes[index]!.account.address,
    leaf,
  }));
  let candidate: Hex = keccak256(toHex("group seed 0"));
  let chosen = false;
  for (let k = 0; k < SEED_TRIES && !chosen; k++) {
    const seed = keccak256(toHex(`group seed ${k}`));
    if (listed.every(({ address, leaf }) => leafOf(address, seed) === leaf)) {
      candidate = seed;
      chosen = true;
    }
  }
  // Another transaction of the running nodes may take the block the value was set for: then that epoch's seed is
  // not ours, and the next epoch is tried.
  for (let attempt = 1; ; attempt++) {
    const epoch = groupEpochAt((await net.publicClient.getBlock()).timestamp);
    if ((await readGroupSeed(client, { epoch })) !== undefined) await advancePast(net, groupEpochEndS(epoch));
    await devRpc(net.chain.rpcUrl, "hardhat_setPrevRandao", [candidate]);
    const drawn = await drawGroupSeed({ ...client, walletClient: net.treasury });
    if (drawn.seed === candidate) return { seed: drawn.seed, chosen };
    if (attempt === DRAW_ATTEMPTS)
      throw new Error(`the chain drew ${drawn.seed}, not the seed set (${candidate}), ${attempt} times`);
  }
}
