/**
 * Pulling credited rewards and bonds from `TrainingRounds` (docs/protocol.md §3: rewards are credited at
 * finalization and pulled with `claim()`).
 */
import { parseEventLogs } from "viem";
import type { Address, Hex } from "viem";

import { trainingRoundsAbi } from "./contracts.ts";
import { operatorAddress, protocolAddresses, submitTransaction } from "./operator.ts";
import type { OperatorContext } from "./operator.ts";

export interface ClaimResult {
  readonly account: Address;
  readonly amountWei: bigint;
  readonly transactionHash: Hex;
}

/** Transfers everything credited to the account; "nothing to claim" is a typed `TransactionRevertedError`. */
export async function claim(ctx: OperatorContext): Promise<ClaimResult> {
  const { rounds } = protocolAddresses(ctx.deployment);
  const sent = await submitTransaction(ctx, "claim", async () => {
    const { request } = await ctx.publicClient.simulateContract({
      account: ctx.walletClient.account,
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "claim",
    });
    return ctx.walletClient.writeContract(request);
  });
  const [event] = parseEventLogs({
    abi: trainingRoundsAbi,
    eventName: "RewardClaimed",
    logs: sent.receipt.logs,
  });
  if (event === undefined) throw new Error(`claim: no RewardClaimed event in ${sent.hash}`);
  return { account: operatorAddress(ctx), amountWei: event.args.amount, transactionHash: sent.hash };
}
