/**
 * A delegator's view (docs/incentives.md): every operator it ever delegated to, with the value of its active
 * and unbonding delegation, the release time, its unclaimed rewards, and the slashes of that operator's pool
 * since it first delegated there (each hit its stake pro rata).
 */
import type { Address, Hex } from "viem";

import { stakeRegistryAbi } from "../contracts.ts";
import type { ChainReadClient } from "./client.ts";
import { readChain } from "./write.ts";

export interface ReadDelegationsParameters {
  readonly delegator: Address;
  /** First block to scan for events (default 0). */
  readonly fromBlock?: bigint;
}

export interface PoolSlash {
  /** Taken from the pool's active and unbonding delegation (all delegators, pro rata). */
  readonly fromActiveWei: bigint;
  readonly fromUnbondingWei: bigint;
  readonly blockNumber: bigint;
  readonly transactionHash: Hex;
}

export interface DelegationEntry {
  readonly operator: Address;
  readonly activeWei: bigint;
  readonly unbondingWei: bigint;
  /** Unix seconds when the unbonding part can be withdrawn (0 when none). */
  readonly releaseTime: bigint;
  readonly rewardsWei: bigint;
  readonly slashes: readonly PoolSlash[];
}

export type ReadDelegationsReturnType = readonly DelegationEntry[];

export async function readDelegations(
  client: ChainReadClient,
  { delegator, fromBlock = 0n }: ReadDelegationsParameters,
): Promise<ReadDelegationsReturnType> {
  const registry = client.contracts.registry;
  const delegated = await readChain(client, "read the delegations", () =>
    client.publicClient.getContractEvents({
      address: registry,
      abi: stakeRegistryAbi,
      eventName: "Delegated",
      args: { delegator },
      fromBlock,
    }),
  );
  const firstBlock = new Map<Address, bigint>();
  for (const e of delegated) {
    const op = e.args.operator;
    if (op !== undefined && !firstBlock.has(op)) firstBlock.set(op, e.blockNumber);
  }
  return Promise.all(
    [...firstBlock].map(async ([operator, since]): Promise<DelegationEntry> => {
      const call = { address: registry, abi: stakeRegistryAbi } as const;
      const [[activeWei, unbondingWei], rewardsWei, position, slashed] = await readChain(
        client,
        "read a delegation",
        () =>
          Promise.all([
            client.publicClient.readContract({
              ...call,
              functionName: "delegationValue",
              args: [operator, delegator],
            }),
            client.publicClient.readContract({
              ...call,
              functionName: "pendingRewards",
              args: [operator, delegator],
            }),
            client.publicClient.readContract({
              ...call,
              functionName: "positionOf",
              args: [operator, delegator],
            }),
            client.publicClient.getContractEvents({
              ...call,
              eventName: "DelegationSlashed",
              args: { operator },
              fromBlock: since,
            }),
          ]),
      );
      return {
        operator,
        activeWei,
        unbondingWei,
        releaseTime: BigInt(position.releaseTime),
        rewardsWei,
        slashes: slashed.map((e) => ({
          fromActiveWei: e.args.fromActive ?? 0n,
          fromUnbondingWei: e.args.fromUnbonding ?? 0n,
          blockNumber: e.blockNumber,
          transactionHash: e.transactionHash,
        })),
      };
    }),
  );
}
