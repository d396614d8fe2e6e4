/** Adds VAIN to a task's reward pool on `TrainingRounds` (docs/protocol.md §3). */
import { zeroAddress } from "viem";
import type { Hex } from "viem";

import { trainingRoundsAbi } from "../contracts.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { ChainWriteClient } from "./client.ts";
import { ensureAllowance } from "./ensure-allowance.ts";
import { readChain, writeContractAndWait } from "./write.ts";

export interface FundTaskParameters {
  readonly taskId: bigint;
  readonly amountWei: bigint;
}

export interface FundTaskReturnType {
  readonly taskId: bigint;
  readonly amountWei: bigint;
  readonly rewardPoolWei: bigint;
  readonly transactionHashes: readonly Hex[];
}

/** Adds `amountWei` to a task's pool: approves the rounds contract when needed, then `fundTask`. */
export async function fundTask(
  client: ChainWriteClient,
  { taskId, amountWei }: FundTaskParameters,
): Promise<FundTaskReturnType> {
  if (amountWei <= 0n)
    throw new InvalidArgumentError("task fund failed: the amount must be greater than zero");
  const { rounds } = client.contracts;
  // Check the task first: approving for a task that does not exist would waste a transaction.
  const task = await readChain(client, "read the task", () =>
    client.publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getTask",
      args: [taskId],
    }),
  );
  if (task.creator === zeroAddress) {
    throw new InvalidArgumentError(`task fund failed: task ${taskId} does not exist`);
  }
  const approval = await ensureAllowance(client, { spender: rounds, amountWei });
  const { hash, event } = await writeContractAndWait(client, {
    action: "task fund",
    address: rounds,
    abi: trainingRoundsAbi,
    functionName: "fundTask",
    args: [taskId, amountWei],
    eventName: "TaskFunded",
  });
  return {
    taskId,
    amountWei,
    rewardPoolWei: event.args.rewardPool,
    transactionHashes: approval === undefined ? [hash] : [approval, hash],
  };
}
