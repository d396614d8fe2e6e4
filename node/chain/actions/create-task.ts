/** Creates a training task on `TrainingRounds` (docs/protocol.md §3). */
import type { Address, Hex } from "viem";

import { CHUNK_SIZE } from "../../proofs/constants.ts";
import {
  DEFAULT_AGGREGATE_WINDOW_S,
  DEFAULT_CHALLENGE_WINDOW_S,
  DEFAULT_COMMIT_WINDOW_S,
  DEFAULT_ROUND_INTERVAL_S,
} from "../constants.ts";
import { trainingRoundsAbi } from "../contracts.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { ChainWriteClient } from "./client.ts";
import { writeContractAndWait } from "./write.ts";

export interface CreateTaskParameters {
  readonly modelRef: Hex;
  /** The model's parameter count: fixes the task's chunk count on chain (docs §4). */
  readonly parameters: number;
  readonly rewardPerRoundWei: bigint;
  readonly commitWindowS?: bigint;
  readonly aggregateWindowS?: bigint;
  readonly challengeWindowS?: bigint;
  readonly roundIntervalS?: bigint;
}

export interface CreateTaskReturnType {
  readonly taskId: bigint;
  readonly creator: Address;
  readonly modelRef: Hex;
  readonly numChunks: number;
  readonly rewardPerRoundWei: bigint;
  readonly transactionHash: Hex;
}

/** Chunks of a model with `parameters` parameters in the commitment scheme (docs §4); typed error if invalid. */
export function taskChunkCount(parameters: number): number {
  if (!Number.isSafeInteger(parameters) || parameters <= 0) {
    throw new InvalidArgumentError(`invalid parameter count ${parameters}: expected a positive integer`);
  }
  const chunks = Math.ceil(parameters / CHUNK_SIZE);
  if (chunks >= 2 ** 32)
    throw new InvalidArgumentError(`${parameters} parameters need more than 2^32 chunks`);
  return chunks;
}

/**
 * Creates a task; the contract checks the schedule (each window >= 30 s, a round <= 12 h). The result is
 * read from the contract's `TaskCreated` event, so the caller sees exactly what the chain recorded.
 */
export async function createTask(
  client: ChainWriteClient,
  parameters: CreateTaskParameters,
): Promise<CreateTaskReturnType> {
  if (parameters.rewardPerRoundWei <= 0n)
    throw new InvalidArgumentError("the reward per round must be greater than zero");
  const numChunks = taskChunkCount(parameters.parameters);
  const { hash, event } = await writeContractAndWait(client, {
    action: "task create",
    address: client.contracts.rounds,
    abi: trainingRoundsAbi,
    functionName: "createTask",
    args: [
      parameters.modelRef,
      numChunks,
      parameters.rewardPerRoundWei,
      parameters.commitWindowS ?? DEFAULT_COMMIT_WINDOW_S,
      parameters.aggregateWindowS ?? DEFAULT_AGGREGATE_WINDOW_S,
      parameters.challengeWindowS ?? DEFAULT_CHALLENGE_WINDOW_S,
      parameters.roundIntervalS ?? DEFAULT_ROUND_INTERVAL_S,
    ],
    eventName: "TaskCreated",
  });
  return {
    taskId: event.args.taskId,
    creator: event.args.creator,
    modelRef: event.args.modelRef,
    numChunks: event.args.numChunks,
    rewardPerRoundWei: event.args.rewardPerRound,
    transactionHash: hash,
  };
}
