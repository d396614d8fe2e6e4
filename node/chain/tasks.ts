/**
 * Task and round actions on `TrainingRounds` (docs/protocol.md §3): create a task, fund its reward pool,
 * open its next round when due. Each returns the IDs and figures from the contract's own events, so the
 * caller sees exactly what the chain recorded.
 */
import { isHex, keccak256, parseEventLogs, stringToBytes } from "viem";
import type { Address, Hex } from "viem";

import { CHUNK_SIZE } from "../proofs/constants.ts";
import { ChainError } from "./errors.ts";
import { operatorAddress, protocolAddresses, readChain, submitTransaction } from "./operator.ts";
import type { OperatorContext } from "./operator.ts";
import { trainingRoundsAbi } from "./contracts.ts";
import { ensureAllowance } from "./staking.ts";

/** Default windows of a new task: room for a few minutes of local training per phase, well under 12 h. */
export const DEFAULT_COMMIT_WINDOW_S = 600n;
export const DEFAULT_AGGREGATE_WINDOW_S = 300n;
export const DEFAULT_CHALLENGE_WINDOW_S = 300n;
/** Rounds may follow each other immediately by default; set an interval to pace emission. */
export const DEFAULT_ROUND_INTERVAL_S = 0n;
/** The contract's MIN_WINDOW. */
export const MIN_WINDOW_S = 30n;

/** A task ID, round ID or similar argument is malformed. */
export class InvalidArgumentError extends ChainError {
  override readonly name = "InvalidArgumentError";
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}

/** Parses a positive integer ID ("1", "42") as typed by the user. */
export function parseId(text: string, what: string): bigint {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed) || BigInt(trimmed) === 0n) {
    throw new InvalidArgumentError(`invalid ${what} "${text}": expected a positive integer`);
  }
  return BigInt(trimmed);
}

/**
 * A task's model reference: a 0x-prefixed 32-byte hex value is used as is (a content hash); any other
 * text is hashed with keccak256 so a name like "mnist-mlp-v1" still gives a stable reference.
 */
export function parseModelRef(text: string): Hex {
  if (text.length === 0) throw new InvalidArgumentError("the model reference must not be empty");
  if (isHex(text, { strict: true }) && text.length === 66) return text.toLowerCase() as Hex;
  if (/^0x[0-9a-fA-F]*$/.test(text)) {
    throw new InvalidArgumentError(
      `invalid model reference "${text}": hex must be exactly 32 bytes (0x + 64 digits)`,
    );
  }
  return keccak256(stringToBytes(text));
}

export interface CreateTaskParams {
  readonly modelRef: Hex;
  /** The model's parameter count: fixes the task's chunk count on chain (docs §4). */
  readonly parameters: number;
  readonly rewardPerRoundWei: bigint;
  readonly commitWindowS?: bigint;
  readonly aggregateWindowS?: bigint;
  readonly challengeWindowS?: bigint;
  readonly roundIntervalS?: bigint;
}

export interface CreateTaskResult {
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

/** Creates a task; the contract checks the schedule (each window >= 30 s, a round <= 12 h). */
export async function createTask(ctx: OperatorContext, params: CreateTaskParams): Promise<CreateTaskResult> {
  if (params.rewardPerRoundWei <= 0n)
    throw new InvalidArgumentError("the reward per round must be greater than zero");
  const numChunks = taskChunkCount(params.parameters);
  const { rounds } = protocolAddresses(ctx.deployment);
  const windows = [
    params.commitWindowS ?? DEFAULT_COMMIT_WINDOW_S,
    params.aggregateWindowS ?? DEFAULT_AGGREGATE_WINDOW_S,
    params.challengeWindowS ?? DEFAULT_CHALLENGE_WINDOW_S,
    params.roundIntervalS ?? DEFAULT_ROUND_INTERVAL_S,
  ] as const;
  const sent = await submitTransaction(ctx, "task create", async () => {
    const { request } = await ctx.publicClient.simulateContract({
      account: ctx.walletClient.account,
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "createTask",
      args: [params.modelRef, numChunks, params.rewardPerRoundWei, ...windows],
    });
    return ctx.walletClient.writeContract(request);
  });
  const [event] = parseEventLogs({
    abi: trainingRoundsAbi,
    eventName: "TaskCreated",
    logs: sent.receipt.logs,
  });
  if (event === undefined) throw new Error(`task create: no TaskCreated event in ${sent.hash}`);
  return {
    taskId: event.args.taskId,
    creator: event.args.creator,
    modelRef: event.args.modelRef,
    numChunks: event.args.numChunks,
    rewardPerRoundWei: event.args.rewardPerRound,
    transactionHash: sent.hash,
  };
}

export interface FundTaskResult {
  readonly taskId: bigint;
  readonly amountWei: bigint;
  readonly rewardPoolWei: bigint;
  readonly transactionHashes: readonly Hex[];
}

/** Adds `amountWei` to a task's pool: approves the rounds contract when needed, then `fundTask`. */
export async function fundTask(
  ctx: OperatorContext,
  taskId: bigint,
  amountWei: bigint,
): Promise<FundTaskResult> {
  if (amountWei <= 0n)
    throw new InvalidArgumentError("task fund failed: the amount must be greater than zero");
  const { rounds } = protocolAddresses(ctx.deployment);
  // Check the task first: approving for a task that does not exist would waste a transaction.
  const task = await readChain(ctx, "read the task", () =>
    ctx.publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getTask",
      args: [taskId],
    }),
  );
  if (task.creator === "0x0000000000000000000000000000000000000000") {
    throw new InvalidArgumentError(`task fund failed: task ${taskId} does not exist`);
  }
  const approval = await ensureAllowance(ctx, rounds, amountWei);
  const sent = await submitTransaction(ctx, "task fund", async () => {
    const { request } = await ctx.publicClient.simulateContract({
      account: ctx.walletClient.account,
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "fundTask",
      args: [taskId, amountWei],
    });
    return ctx.walletClient.writeContract(request);
  });
  const [event] = parseEventLogs({
    abi: trainingRoundsAbi,
    eventName: "TaskFunded",
    logs: sent.receipt.logs,
  });
  if (event === undefined) throw new Error(`task fund: no TaskFunded event in ${sent.hash}`);
  return {
    taskId,
    amountWei,
    rewardPoolWei: event.args.rewardPool,
    transactionHashes: approval === undefined ? [sent.hash] : [approval.hash, sent.hash],
  };
}

export interface OpenRoundResult {
  readonly roundId: bigint;
  readonly taskId: bigint;
  readonly baseModelRef: Hex;
  /** Unix seconds (chain time). */
  readonly commitDeadline: bigint;
  readonly aggregateDeadline: bigint;
  readonly challengeDeadline: bigint;
  readonly emissionWei: bigint;
  readonly opener: Address;
  readonly transactionHash: Hex;
}

/** Opens the task's next round (anyone may, when it is due and funded); the round ID comes from the event. */
export async function openRound(ctx: OperatorContext, taskId: bigint): Promise<OpenRoundResult> {
  const { rounds } = protocolAddresses(ctx.deployment);
  const sent = await submitTransaction(ctx, "round open", async () => {
    const { request } = await ctx.publicClient.simulateContract({
      account: ctx.walletClient.account,
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "openRound",
      args: [taskId],
    });
    return ctx.walletClient.writeContract(request);
  });
  const [event] = parseEventLogs({
    abi: trainingRoundsAbi,
    eventName: "RoundOpened",
    logs: sent.receipt.logs,
  });
  if (event === undefined) throw new Error(`round open: no RoundOpened event in ${sent.hash}`);
  return {
    roundId: event.args.roundId,
    taskId: event.args.taskId,
    baseModelRef: event.args.baseModelRef,
    commitDeadline: event.args.commitDeadline,
    aggregateDeadline: event.args.aggregateDeadline,
    challengeDeadline: event.args.challengeDeadline,
    emissionWei: event.args.emission,
    opener: operatorAddress(ctx),
    transactionHash: sent.hash,
  };
}
