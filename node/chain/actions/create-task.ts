/** Creates a training task on `TrainingRounds` (docs/protocol.md §3). */
import { zeroHash } from "viem";
import type { Address, Hex } from "viem";

import { aggregationModeSchema, isProvable } from "../../aggregation/modes.ts";
import type { AggregationMode } from "../../aggregation/modes.ts";
import { CHUNK_SIZE } from "../../proofs/constants.ts";
import {
  DEFAULT_AGGREGATE_WINDOW_S,
  DEFAULT_ANSWER_WINDOW_S,
  DEFAULT_DISPUTE_WINDOW_S,
  DEFAULT_CHALLENGE_WINDOW_S,
  DEFAULT_COMMIT_WINDOW_S,
  DEFAULT_ROUND_INTERVAL_S,
  DEFAULT_TASK_RULE,
} from "../constants.ts";
import { trainingRoundsAbi } from "../contracts.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { ChainWriteClient } from "./client.ts";
import { writeContractAndWait } from "./write.ts";

/** An aggregation rule a task can fix on chain. */
export type TaskRule = AggregationMode["rule"];

/**
 * A rule's on-chain id: its index in the node's rule list (`aggregationModeSchema`, docs/protocol.md §8).
 * The list only ever grows at the end, so an id keeps its meaning.
 */
export function taskRuleId(rule: TaskRule): number {
  return aggregationModeSchema.shape.rule.options.indexOf(rule);
}

/** The rule of an on-chain rule id, or undefined for an id this node does not know. */
export function taskRuleName(ruleId: number): TaskRule | undefined {
  return aggregationModeSchema.shape.rule.options[ruleId];
}

export interface CreateTaskParameters {
  readonly modelRef: Hex;
  /** The model's parameter count: fixes the task's chunk count on chain (docs §4). */
  readonly parameters: number;
  readonly rewardPerRoundWei: bigint;
  /** Content address of the task spec (default: zero, no spec recorded). */
  readonly specHash?: Hex;
  /** The aggregation rule every round of the task uses (default DEFAULT_TASK_RULE). */
  readonly rule?: TaskRule;
  /**
   * Whether rounds must be proven (default true): each round is sampled and challengeable and holds at most 8
   * trainers (the circuit's fan-in). Refused for a rule the circuit cannot prove.
   */
  readonly proven?: boolean;
  readonly commitWindowS?: bigint;
  readonly aggregateWindowS?: bigint;
  readonly challengeWindowS?: bigint;
  /** Seconds the aggregator has per challenge: its proving time with headroom, plus a transaction. */
  readonly answerWindowS?: bigint;
  /** Seconds an answered statement stays disputable: a watcher's check plus a transaction. */
  readonly disputeWindowS?: bigint;
  readonly roundIntervalS?: bigint;
}

export interface CreateTaskReturnType {
  readonly taskId: bigint;
  readonly creator: Address;
  readonly modelRef: Hex;
  readonly numChunks: number;
  readonly rewardPerRoundWei: bigint;
  readonly rule: TaskRule;
  readonly proven: boolean;
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

/** `TrainingRounds.TaskConfig` as the contract takes it, with defaults filled in and the rule checked. */
export type TaskConfig = {
  modelRef: Hex;
  specHash: Hex;
  numChunks: number;
  ruleId: number;
  proven: boolean;
  rewardPerRound: bigint;
  commitWindow: bigint;
  aggregateWindow: bigint;
  challengeWindow: bigint;
  answerWindow: bigint;
  disputeWindow: bigint;
  roundInterval: bigint;
};

/**
 * The `createTask` argument for `parameters` (defaults filled in). Throws `InvalidArgumentError` for a bad
 * parameter count, a zero reward, or a proven task whose rule the circuit cannot prove.
 */
export function taskConfig(parameters: CreateTaskParameters): TaskConfig {
  if (parameters.rewardPerRoundWei <= 0n)
    throw new InvalidArgumentError("the reward per round must be greater than zero");
  const rule = parameters.rule ?? DEFAULT_TASK_RULE;
  const proven = parameters.proven ?? true;
  if (proven && !isProvable(aggregationModeSchema.parse({ rule }))) {
    throw new InvalidArgumentError(`rule "${rule}" cannot be proven: create the task with proven: false`);
  }
  return {
    modelRef: parameters.modelRef,
    specHash: parameters.specHash ?? zeroHash,
    numChunks: taskChunkCount(parameters.parameters),
    ruleId: taskRuleId(rule),
    proven,
    rewardPerRound: parameters.rewardPerRoundWei,
    commitWindow: parameters.commitWindowS ?? DEFAULT_COMMIT_WINDOW_S,
    aggregateWindow: parameters.aggregateWindowS ?? DEFAULT_AGGREGATE_WINDOW_S,
    challengeWindow: parameters.challengeWindowS ?? DEFAULT_CHALLENGE_WINDOW_S,
    answerWindow: parameters.answerWindowS ?? DEFAULT_ANSWER_WINDOW_S,
    disputeWindow: parameters.disputeWindowS ?? DEFAULT_DISPUTE_WINDOW_S,
    roundInterval: parameters.roundIntervalS ?? DEFAULT_ROUND_INTERVAL_S,
  };
}

/**
 * Creates a task; the contract checks the schedule (each window >= 5 s; commit + 2 aggregate + challenge + 16
 * answer windows + the dispute window <= 12 h). The result is read from the contract's `TaskCreated` event, so the caller sees
 * exactly what the chain recorded.
 */
export async function createTask(
  client: ChainWriteClient,
  parameters: CreateTaskParameters,
): Promise<CreateTaskReturnType> {
  const config = taskConfig(parameters);
  const { hash, event } = await writeContractAndWait(client, {
    action: "task create",
    address: client.contracts.rounds,
    abi: trainingRoundsAbi,
    functionName: "createTask",
    args: [config],
    eventName: "TaskCreated",
  });
  const rule = taskRuleName(config.ruleId)!;
  const proven = config.proven;
  return {
    taskId: event.args.taskId,
    creator: event.args.creator,
    modelRef: event.args.modelRef,
    numChunks: event.args.numChunks,
    rewardPerRoundWei: event.args.rewardPerRound,
    rule,
    proven,
    transactionHash: hash,
  };
}
