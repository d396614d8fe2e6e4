/**
 * A group epoch's seed (docs/protocol.md §7): it draws every operator's group in every task hierarchy for the epoch
 * (`keccak(seed, parent, operator) mod groups` at each level), and only operators with the minimum stake
 * SEED_BLOCK_DELAY blocks before its seed block train in the epoch's group rounds.
 */
import type { Address, Hex } from "viem";

import { stakeRegistryAbi, trainingRoundsAbi } from "../contracts.ts";
import { GROUP_EPOCH_S, SEED_BLOCK_DELAY } from "../constants.ts";
import type { ChainReadClient } from "./client.ts";
import { readChain } from "./write.ts";

/** A fixed group seed. */
export interface GroupSeed {
  readonly epoch: bigint;
  readonly seed: Hex;
  /**
   * Its seed block, whose `prevrandao` made it: stake counts for it if held at the end of block
   * `seedBlock - SEED_BLOCK_DELAY` (the block of the draw's first step, before anyone could know the seed).
   */
  readonly seedBlock: bigint;
}

/** The group epoch chain time `timestampS` falls in (epochs count from 1; a round's 0 means no group round). */
export function groupEpochAt(timestampS: bigint): bigint {
  return timestampS / GROUP_EPOCH_S + 1n;
}

/** When group epoch `epoch` ends (chain seconds). */
export function groupEpochEndS(epoch: bigint): bigint {
  return epoch * GROUP_EPOCH_S;
}

export interface ReadGroupSeedParameters {
  readonly epoch: bigint;
  /**
   * The state read: the head's (default), or the pending block's, which on a node with a public mempool holds the
   * transactions it has seen but not mined (another node's draw step under way).
   */
  readonly blockTag?: "latest" | "pending";
}

/** Where an epoch's two-step draw stands (`drawGroupSeed`). */
export interface ReadGroupSeedDrawReturnType {
  /** The fixed seed (undefined until the second step). */
  readonly seed: GroupSeed | undefined;
  /** The seed block the first step named (0: nobody started the draw). */
  readonly seedBlock: bigint;
}

export async function readGroupSeedDraw(
  client: ChainReadClient,
  { epoch, blockTag = "latest" }: ReadGroupSeedParameters,
): Promise<ReadGroupSeedDrawReturnType> {
  const [seed, seedBlock] = await readChain(client, "read the group seed", () =>
    client.publicClient.readContract({
      address: client.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "groupSeed",
      args: [epoch],
      blockTag,
    }),
  );
  return { seed: BigInt(seed) === 0n ? undefined : { epoch, seed, seedBlock }, seedBlock };
}

/** The epoch's seed, or undefined if it is not fixed yet. */
export type ReadGroupSeedReturnType = GroupSeed | undefined;

export async function readGroupSeed(
  client: ChainReadClient,
  parameters: ReadGroupSeedParameters,
): Promise<ReadGroupSeedReturnType> {
  return (await readGroupSeedDraw(client, parameters)).seed;
}

export interface ReadSeedEligibilityParameters {
  readonly operator: Address;
  readonly seed: GroupSeed;
}

/**
 * Whether `operator` trains in the seed's epoch: its counted stake was at least the minimum at the end of block
 * `seedBlock - SEED_BLOCK_DELAY` (the contract's `StakeNewerThanGroupSeed` otherwise).
 */
export async function readSeedEligibility(
  client: ChainReadClient,
  { operator, seed }: ReadSeedEligibilityParameters,
): Promise<boolean> {
  const [stakeThen, minimum] = await readChain(client, "read the stake before the group seed", () =>
    Promise.all([
      client.publicClient.readContract({
        address: client.contracts.registry,
        abi: stakeRegistryAbi,
        functionName: "activeStakeAt",
        args: [operator, seed.seedBlock - SEED_BLOCK_DELAY],
      }),
      client.publicClient.readContract({
        address: client.contracts.registry,
        abi: stakeRegistryAbi,
        functionName: "minStake",
      }),
    ]),
  );
  return stakeThen >= minimum && stakeThen > 0n;
}
