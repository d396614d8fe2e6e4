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
import { groupIndexOf } from "../protocol/group-tasks.ts";
import type { LocalVainNetwork } from "./network.ts";

/** Seeds tried for a chosen composition: 6 nodes placed at two levels of two (1 in 4,096) fail 1 in e^16. */
export const SEED_TRIES = 65_536;
/** Epochs tried when another transaction takes the block whose prevrandao was set. */
const DRAW_ATTEMPTS = 3;

/** What drawing needs of a network: its chain, treasury and every node's operator address by index. */
export type DrawChain = Pick<LocalVainNetwork, "publicClient" | "treasury" | "contracts"> & {
  readonly rpcUrl: string;
  readonly addresses: readonly Address[];
};

/** A task hierarchy's IDs (group-network.ts `TaskTree`): `leaves[m]` under middle m, or all under the root. */
export interface DrawTree {
  readonly root: bigint;
  readonly middles: readonly bigint[];
  readonly leaves: readonly (readonly bigint[])[];
}

/** The leaf (m, l) the seed draws `operator` into, as `m/l` (two levels: m = 0). */
function leafOf(tree: DrawTree, operator: Address, seed: Hex): string {
  if (tree.middles.length === 0)
    return `0/${groupIndexOf(operator, tree.root, tree.leaves[0]!.length, seed)}`;
  const m = groupIndexOf(operator, tree.root, tree.middles.length, seed);
  return `${m}/${groupIndexOf(operator, tree.middles[m]!, tree.leaves[m]!.length, seed)}`;
}

/** Moves `chain` to the next group epoch if the current one's seed is drawn. */
async function freshEpoch(chain: DrawChain): Promise<void> {
  const client = { publicClient: chain.publicClient, contracts: chain.contracts };
  const now = (await chain.publicClient.getBlock()).timestamp;
  const epoch = groupEpochAt(now);
  if ((await readGroupSeed(client, { epoch })) === undefined) return;
  await devRpc(chain.rpcUrl, "evm_increaseTime", [Number(groupEpochEndS(epoch) - now + 1n)]);
  await devRpc(chain.rpcUrl, "evm_mine");
}

/**
 * Draws a fresh group epoch's seed on `chain` under which node `members[m][l]` (indices into `addresses`) falls
 * in leaf l of middle m of `tree`, if one of SEED_TRIES candidate seeds does; else under the first candidate.
 * Returns each leaf's listed nodes as drawn (the composition asked for, when a seed gave it).
 */
export async function drawTreeMembers(
  chain: DrawChain,
  tree: DrawTree,
  members: readonly (readonly (readonly number[])[])[],
): Promise<number[][][]> {
  const listed = members.flatMap((leaves, m) =>
    leaves.flatMap((indices, l) => indices.map((index) => ({ index, key: `${m}/${l}` }))),
  );
  let candidate: Hex = keccak256(toHex("group seed 0"));
  let chosen = false;
  for (let k = 0; k < SEED_TRIES && !chosen; k++) {
    const seed = keccak256(toHex(`group seed ${k}`));
    if (listed.every(({ index, key }) => leafOf(tree, chain.addresses[index]!, seed) === key)) {
      candidate = seed;
      chosen = true;
    }
  }
  // Another transaction of the running nodes may take the block the value was set for: then that epoch's seed is
  // not this one, and the next epoch is tried.
  const client = {
    publicClient: chain.publicClient,
    walletClient: chain.treasury,
    contracts: chain.contracts,
  };
  for (let attempt = 1; ; attempt++) {
    await freshEpoch(chain);
    await devRpc(chain.rpcUrl, "hardhat_setPrevRandao", [candidate]);
    const drawn = await drawGroupSeed(client);
    if (drawn.seed === candidate) break;
    if (attempt === DRAW_ATTEMPTS)
      throw new Error(`the chain drew ${drawn.seed}, not the seed set (${candidate}), ${attempt} times`);
  }
  if (chosen) return members.map((leaves) => leaves.map((indices) => [...indices]));
  return members.map((leaves, m) =>
    leaves.map((_, l) =>
      listed
        .filter(({ index }) => leafOf(tree, chain.addresses[index]!, candidate) === `${m}/${l}`)
        .map(({ index }) => index),
    ),
  );
}

/** `net` as drawing sees it. */
export function drawChainOf(net: LocalVainNetwork): DrawChain {
  return { ...net, rpcUrl: net.chain.rpcUrl, addresses: net.nodes.map((node) => node.account.address) };
}
