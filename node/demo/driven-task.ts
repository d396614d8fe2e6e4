/**
 * The first task of a driven test network (network.ts, the bench's hosted network): created from the spec the
 * nodes run and funded for FUNDED_ROUNDS rounds by the treasury, each transaction sent again if its HTTP request
 * failed before the chain had it (send-again.ts).
 */
import type { Hex } from "viem";

import type { ChainWriteClient } from "../chain/actions/client.ts";
import { createTask } from "../chain/actions/create-task.ts";
import type { CreateTaskParameters } from "../chain/actions/create-task.ts";
import { fundTask } from "../chain/actions/fund-task.ts";
import type { TaskSpec } from "../protocol/task-spec.ts";
import { taskSpecHash } from "../protocol/task-spec-hash.ts";
import { sendAgain } from "./send-again.ts";

/** Rounds the first task's funding pays for. */
const FUNDED_ROUNDS = 100n;

export type DrivenTaskParameters = Pick<
  CreateTaskParameters,
  | "parameters"
  | "rewardPerRoundWei"
  | "commitWindowS"
  | "aggregateWindowS"
  | "challengeWindowS"
  | "answerWindowS"
  | "disputeWindowS"
> & {
  readonly modelRef: Hex;
  /** The nodes' spec: its content address goes on chain and its rule and proof mode are the task's. */
  readonly spec: TaskSpec;
};

/** Creates and funds the task; returns its ID. */
export async function createDrivenTask(
  treasury: ChainWriteClient,
  task: DrivenTaskParameters,
): Promise<bigint> {
  const { spec, ...schedule } = task;
  const from = treasury.walletClient.account.address;
  const { taskId } = await sendAgain(treasury.publicClient, from, () =>
    createTask(treasury, {
      ...schedule,
      // The spec's content address on chain: a node started with another spec refuses the task (spec-check.ts).
      specHash: taskSpecHash(spec),
      // The spec's rule and proof mode (nodes refuse a task with another, spec-check.ts).
      rule: spec.aggregation.rule,
      proven: spec.aggregation.proven,
      roundIntervalS: 0n,
    }),
  );
  await sendAgain(
    treasury.publicClient,
    from,
    () => fundTask(treasury, { taskId, amountWei: task.rewardPerRoundWei * FUNDED_ROUNDS }),
    () => undefined,
  );
  return taskId;
}
