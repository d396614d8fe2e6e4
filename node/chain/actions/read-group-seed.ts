/**
 * A group epoch's seed (docs/protocol.md §7): it draws every operator's group in every task hierarchy for the epoch
 * (`keccak(seed, parent, operator) mod groups` at each level), and only operators with the minimum stake
 * SEED_BLOCK_DELAY blocks before its block train in the epoch's group rounds.
 */
import type { Address, Hex } from "viem";

import { stakeRegistryAbi, trainingRoundsAbi } from "../contracts.ts";
import { GROUP_EPOCH_S, SEED_BLOCK_DELAY } from "../constants.ts";
import type { ChainReadClient } from "./client.ts";
import { readChain } from "./write.ts";

/** A drawn group seed. */
export interface GroupSeed {
  readonly epoch: bigint;
  readonly seed: Hex;
  /** The block it was drawn in: stake counts for it if held at the end of block `seedBlock - SEED_BLOCK_DELAY`. */
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
}

/** The epoch's seed, or undefined if nobody has drawn it yet. */
export type ReadGroupSeedReturnType = GroupSeed | undefined;

export async function readGroupSeed(
  client: ChainReadClient,
  { epoch }: ReadGroupSeedParameters,
): Promise<ReadGroupSeedReturnType> {
  const [seed, seedBlock] = await readChain(client, "read the group seed", () =>
    client.publicClient.readContract({
      address: client.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "groupSeed",
      args: [epoch],
    }),
  );
  return seedBlock === 0n ? undefined : { epoch, seed, seedBlock };
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
