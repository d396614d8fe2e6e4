/**
 * Group membership on a local test network follows the chain's rule (docs/protocol.md §7): the group epoch's seed
 * draws every operator's group, and a group round takes updates only from its drawn members. A test that wants a
 * chosen composition (these nodes together, that one elsewhere) gets it the way the chain would give it: the seed
 * block's `prevrandao` is set before it is mined (`hardhat_setPrevRandao`, the local chain's counterpart of
 * Solidity tests' `vm.prevrandao`, with mining paused so no other block takes the value), searching for a value
 * under which the rule itself puts each listed node where asked.
 * When no seed within SEED_TRIES does (a bench's hundreds of nodes), the seed falls as it may and the caller takes
 * the groups it drew.
 */
import { keccak256, toHex } from "viem";
import type { Address, Hex } from "viem";

import { drawGroupSeed } from "../chain/actions/draw-group-seed.ts";
import { groupEpochAt, groupEpochEndS, readGroupSeedDraw } from "../chain/actions/read-group-seed.ts";
import type { GroupSeed } from "../chain/actions/read-group-seed.ts";
import { trainingRoundsAbi } from "../chain/contracts.ts";
import { LOCAL_BLOCK_INTERVAL_MS } from "../chain/constants.ts";
import { devRpc } from "../chain/dev-rpc.ts";
import { groupIndexOf, groupSeedFrom } from "../protocol/group-tasks.ts";
import type { LocalVainNetwork } from "./network.ts";

/** Seeds tried for a chosen composition: 6 nodes placed at two levels of two (1 in 4,096) fail 1 in e^16. */
export const SEED_TRIES = 65_536;
/** Epochs tried when a running node's draw got its seed block mined before the value could be set. */
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

/** The group epoch of `chain`'s head; moved to the next one first if anyone started drawing the current one. */
async function freshEpoch(chain: DrawChain): Promise<bigint> {
  const client = { publicClient: chain.publicClient, contracts: chain.contracts };
  const now = (await chain.publicClient.getBlock()).timestamp;
  const epoch = groupEpochAt(now);
  if ((await readGroupSeedDraw(client, { epoch })).seedBlock === 0n) return epoch;
  await devRpc(chain.rpcUrl, "evm_increaseTime", [Number(groupEpochEndS(epoch) - now + 1n)]);
  await devRpc(chain.rpcUrl, "evm_mine");
  return epoch + 1n;
}

/**
 * A seed block value (`prevrandao`) under which `epoch`'s seed satisfies `fits`, if one of `tries` candidates
 * does (the first candidate otherwise), and whether one did.
 */
export function searchMix(
  epoch: bigint,
  fits: (seed: Hex) => boolean,
  tries = SEED_TRIES,
): { mix: Hex; found: boolean } {
  for (let k = 0; k < tries; k++) {
    const mix = keccak256(toHex(`group seed ${k}`));
    if (fits(groupSeedFrom(mix, epoch))) return { mix, found: true };
  }
  return { mix: keccak256(toHex("group seed 0")), found: false };
}

/**
 * Draws `epoch`'s seed with `mix` as its seed block's prevrandao: mining paused (no automining, no interval),
 * the draw's first step (unless a running node took it) and the blocks up to the seed block are mined here, the
 * value set just before the seed block; then mining resumes and the second step fixes the seed. The seed drawn,
 * which is not `mix`'s if the seed block was mined before this could set it (a running node's draw).
 */
async function drawWithMix(chain: DrawChain, epoch: bigint, mix: Hex): Promise<GroupSeed> {
  const client = {
    publicClient: chain.publicClient,
    walletClient: chain.treasury,
    contracts: chain.contracts,
  };
  await devRpc(chain.rpcUrl, "evm_setAutomine", [false]);
  await devRpc(chain.rpcUrl, "evm_setIntervalMining", [0]);
  try {
    let { seedBlock } = await readGroupSeedDraw(client, { epoch });
    if (seedBlock === 0n) {
      await chain.treasury.writeContract({
        address: chain.contracts.rounds,
        abi: trainingRoundsAbi,
        functionName: "drawGroupSeed",
        args: ["0x"],
      });
      await devRpc(chain.rpcUrl, "evm_mine");
      ({ seedBlock } = await readGroupSeedDraw(client, { epoch }));
    }
    for (let head = await chain.publicClient.getBlockNumber({ cacheTime: 0 }); head < seedBlock; head++) {
      if (head === seedBlock - 1n) await devRpc(chain.rpcUrl, "hardhat_setPrevRandao", [mix]);
      await devRpc(chain.rpcUrl, "evm_mine");
    }
  } finally {
    await devRpc(chain.rpcUrl, "evm_setAutomine", [true]);
    await devRpc(chain.rpcUrl, "evm_setIntervalMining", [LOCAL_BLOCK_INTERVAL_MS]);
  }
  return drawGroupSeed(client, { spreadMs: 0 }); // this draw named the seed block: it fixes it at once
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
  // A running node's draw may get the seed block mined before its value is set: then the next epoch is tried.
  let drawnSeed: Hex | undefined;
  let chosen = false;
  for (let attempt = 1; ; attempt++) {
    const epoch = await freshEpoch(chain);
    const search = searchMix(epoch, (seed) =>
      listed.every(({ index, key }) => leafOf(tree, chain.addresses[index]!, seed) === key),
    );
    chosen = search.found;
    const mix = search.mix;
    const drawn = await drawWithMix(chain, epoch, mix);
    drawnSeed = drawn.seed;
    if (drawn.epoch === epoch && drawn.seed === groupSeedFrom(mix, epoch)) break;
    if (attempt === DRAW_ATTEMPTS)
      throw new Error(`the chain drew ${drawn.seed}, not the seed of the value set, ${attempt} times`);
  }
  if (chosen) return members.map((leaves) => leaves.map((indices) => [...indices]));
  return members.map((leaves, m) =>
    leaves.map((_, l) =>
      listed
        .filter(({ index }) => leafOf(tree, chain.addresses[index]!, drawnSeed) === `${m}/${l}`)
        .map(({ index }) => index),
    ),
  );
}

/** `net` as drawing sees it. */
export function drawChainOf(net: LocalVainNetwork): DrawChain {
  return { ...net, rpcUrl: net.chain.rpcUrl, addresses: net.nodes.map((node) => node.account.address) };
}
