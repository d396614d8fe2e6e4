/** Claims a delegator's rewards earned through one operator from `StakeRegistry` (pull-based). */
import type { Address, Hex } from "viem";

import { stakeRegistryAbi } from "../contracts.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { writeContractAndWait } from "./write.ts";

export interface ClaimDelegationRewardsParameters {
  readonly operator: Address;
}

export interface ClaimDelegationRewardsReturnType {
  readonly delegator: Address;
  readonly operator: Address;
  readonly amountWei: bigint;
  readonly transactionHash: Hex;
}

/** "Nothing to claim" is a typed `TransactionRevertedError` (`NoDelegationRewards`). */
export async function claimDelegationRewards(
  client: ChainWriteClient,
  { operator }: ClaimDelegationRewardsParameters,
): Promise<ClaimDelegationRewardsReturnType> {
  const { hash, event } = await writeContractAndWait(client, {
    action: "claim delegation rewards",
    address: client.contracts.registry,
    abi: stakeRegistryAbi,
    functionName: "claimDelegationRewards",
    args: [operator],
    eventName: "DelegationRewardsClaimed",
  });
  return { delegator: accountOf(client), operator, amountWei: event.args.amount, transactionHash: hash };
}
