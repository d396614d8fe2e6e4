/**
 * Starts undelegating from an operator on `StakeRegistry`: the value stops earning at once and stays
 * slashable until `releaseTime` (the unbonding delay), then `withdrawDelegation` pays it.
 */
import { maxUint256 } from "viem";
import type { Address, Hex } from "viem";

import { stakeRegistryAbi } from "../contracts.ts";
import { NonPositiveAmountError } from "../errors.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { writeContractAndWait } from "./write.ts";

export interface UndelegateParameters {
  readonly operator: Address;
  /** Tokens to undelegate; omitted = everything delegated to `operator`. */
  readonly amountWei?: bigint;
}

export interface UndelegateReturnType {
  readonly delegator: Address;
  readonly operator: Address;
  /** Tokens moved to unbonding (the position's value, rounded down). */
  readonly amountWei: bigint;
  /** Unix seconds (chain time) from which `withdrawDelegation` pays it. */
  readonly releaseTime: bigint;
  readonly transactionHash: Hex;
}

export async function undelegate(
  client: ChainWriteClient,
  { operator, amountWei }: UndelegateParameters,
): Promise<UndelegateReturnType> {
  if (amountWei !== undefined && amountWei <= 0n) throw new NonPositiveAmountError("undelegate");
  const { hash, event } = await writeContractAndWait(client, {
    action: "undelegate",
    address: client.contracts.registry,
    abi: stakeRegistryAbi,
    functionName: "undelegate",
    args: [operator, amountWei ?? maxUint256],
    eventName: "UndelegationRequested",
  });
  return {
    delegator: accountOf(client),
    operator,
    amountWei: event.args.amount,
    releaseTime: BigInt(event.args.releaseTime),
    transactionHash: hash,
  };
}
