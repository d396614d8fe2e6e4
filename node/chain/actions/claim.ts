/**
 * Pulls credited rewards and bonds from `TrainingRounds` (docs/protocol.md §3: rewards are credited at
 * finalization and pulled with `claim()`).
 */
import type { Address, Hex } from "viem";

import { trainingRoundsAbi } from "../contracts.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { writeContractAndWait } from "./write.ts";

export interface ClaimReturnType {
  readonly account: Address;
  readonly amountWei: bigint;
  readonly transactionHash: Hex;
}

/** Transfers everything credited to the account; "nothing to claim" is a typed `TransactionRevertedError`. */
export async function claim(client: ChainWriteClient): Promise<ClaimReturnType> {
  const { hash, event } = await writeContractAndWait(client, {
    action: "claim",
    address: client.contracts.rounds,
    abi: trainingRoundsAbi,
    functionName: "claim",
    eventName: "RewardClaimed",
  });
  return { account: accountOf(client), amountWei: event.args.amount, transactionHash: hash };
}
