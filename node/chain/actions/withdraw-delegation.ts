/** Withdraws a released undelegation from `StakeRegistry` (after `undelegate` and the unbonding delay). */
import type { Address, Hex } from "viem";

import { stakeRegistryAbi } from "../contracts.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { writeContractAndWait } from "./write.ts";

export interface WithdrawDelegationParameters {
  readonly operator: Address;
}

export interface WithdrawDelegationReturnType {
  readonly delegator: Address;
  readonly operator: Address;
  readonly amountWei: bigint;
  readonly transactionHash: Hex;
}

/** "Not released yet" is a typed `TransactionRevertedError` (`DelegationNotReleased`, with the release time). */
export async function withdrawDelegation(
  client: ChainWriteClient,
  { operator }: WithdrawDelegationParameters,
): Promise<WithdrawDelegationReturnType> {
  const { hash, event } = await writeContractAndWait(client, {
    action: "withdraw delegation",
    address: client.contracts.registry,
    abi: stakeRegistryAbi,
    functionName: "withdrawDelegation",
    args: [operator],
    eventName: "DelegationWithdrawn",
  });
  return { delegator: accountOf(client), operator, amountWei: event.args.amount, transactionHash: hash };
}
