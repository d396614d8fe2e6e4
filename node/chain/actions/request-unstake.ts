/** Moves active stake to unbonding on `StakeRegistry` (docs/protocol.md §2). */
import type { Address, Hex } from "viem";

import { stakeRegistryAbi } from "../contracts.ts";
import { NonPositiveAmountError } from "../errors.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { readActiveStake } from "./read-active-stake.ts";
import { writeContractAndWait } from "./write.ts";

export interface RequestUnstakeParameters {
  readonly amountWei: bigint;
}

export interface RequestUnstakeReturnType {
  readonly operator: Address;
  readonly amountWei: bigint;
  readonly activeStakeWei: bigint;
  readonly unbondingStakeWei: bigint;
  /** Unix seconds (chain time) from which `withdraw` pays this request. */
  readonly releaseTime: bigint;
  readonly transactionHash: Hex;
}

/**
 * Moves `amountWei` of active stake to unbonding as one request with its own release time (`releaseTime`);
 * earlier requests keep theirs. At most `MAX_UNBONDING_ENTRIES` (8) requests can be pending: the registry
 * reverts `TooManyUnbondingEntries` until `withdraw` takes released ones.
 */
export async function requestUnstake(
  client: ChainWriteClient,
  { amountWei }: RequestUnstakeParameters,
): Promise<RequestUnstakeReturnType> {
  if (amountWei <= 0n) throw new NonPositiveAmountError("unstake");
  const operator = accountOf(client);
  const { hash, event } = await writeContractAndWait(client, {
    action: "unstake",
    address: client.contracts.registry,
    abi: stakeRegistryAbi,
    functionName: "requestUnstake",
    args: [amountWei],
    eventName: "UnstakeRequested",
  });
  return {
    operator,
    amountWei,
    activeStakeWei: await readActiveStake(client, { operator }),
    unbondingStakeWei: event.args.unbondingStake,
    releaseTime: event.args.releaseTime,
    transactionHash: hash,
  };
}
