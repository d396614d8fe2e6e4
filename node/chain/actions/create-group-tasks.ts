/**
 * Hierarchical rounds proven at every level (docs/protocol.md §3 "Group tasks and partials", §7): one parent
 * task and G proven group tasks linked to it, from one task description. Every group trains the parent's model
 * in ordinary proven rounds of at most 16 trainers; each finalized group round's aggregator commits the group's
 * aggregate into the parent's open round (`commitPartial`), and the parent's round is an ordinary proven round
 * over the partials. The parent's commit window must hold a whole group round (the partials are committed
 * after their group rounds finalize), so by default it is sized from the groups' schedule (`parentCommitWindowS`).
 */
import type { Hex } from "viem";

import {
  DEFAULT_AGGREGATE_WINDOW_S,
  DEFAULT_ANSWER_WINDOW_S,
  DEFAULT_CHALLENGE_WINDOW_S,
  DEFAULT_COMMIT_WINDOW_S,
  DEFAULT_DISPUTE_WINDOW_S,
} from "../constants.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { ChainWriteClient } from "./client.ts";
import { createTask } from "./create-task.ts";
import type { CreateTaskParameters } from "./create-task.ts";
import { linkTask } from "./link-task.ts";

/**
 * The contract's bound on a round's windows (RoundsStorage: a round with every step at its last second):
 * commit + 4 aggregate windows (selection, the selected aggregator's, the backup's take-over, the backup's) +
 * challenge + MAX_CHALLENGES_PER_ROUND answer windows + the dispute window.
 */
const AGGREGATE_WINDOWS_PER_ROUND = 4n;
const MAX_CHALLENGES_PER_ROUND = 16n;
/**
 * Seconds after a group round can finalize in which its leader still commits the partial: a keeper's
 * `finalizeRound`, the leader's next round poll (2 s by default, 16 s at 512 nodes in one process) and its
 * `commitPartial` transaction, each a few blocks on a loaded chain.
 */
export const PARTIAL_COMMIT_MARGIN_S = 60n;
/** How many group tasks one parent task may have: each links with one transaction; a parent round holds 16. */
export const MAX_GROUPS = 16;

/** The windows of a group task's schedule that bound how long one of its rounds runs (seconds). */
export interface GroupSchedule {
  readonly commitWindowS?: bigint;
  readonly aggregateWindowS?: bigint;
  readonly challengeWindowS?: bigint;
  readonly answerWindowS?: bigint;
  readonly disputeWindowS?: bigint;
}

/** A task's windows as the chain holds them (`getTask`), as a schedule. */
export function scheduleOf(task: {
  readonly commitWindow: bigint;
  readonly aggregateWindow: bigint;
  readonly challengeWindow: bigint;
  readonly answerWindow: bigint;
  readonly disputeWindow: bigint;
}): Required<GroupSchedule> {
  return {
    commitWindowS: task.commitWindow,
    aggregateWindowS: task.aggregateWindow,
    challengeWindowS: task.challengeWindow,
    answerWindowS: task.answerWindow,
    disputeWindowS: task.disputeWindow,
  };
}

/** The longest a group round can run (the contract's bound on any round's windows), seconds. */
export function longestRoundS(schedule: GroupSchedule): bigint {
  return (
    (schedule.commitWindowS ?? DEFAULT_COMMIT_WINDOW_S) +
    AGGREGATE_WINDOWS_PER_ROUND * (schedule.aggregateWindowS ?? DEFAULT_AGGREGATE_WINDOW_S) +
    (schedule.challengeWindowS ?? DEFAULT_CHALLENGE_WINDOW_S) +
    MAX_CHALLENGES_PER_ROUND * (schedule.answerWindowS ?? DEFAULT_ANSWER_WINDOW_S) +
    (schedule.disputeWindowS ?? DEFAULT_DISPUTE_WINDOW_S)
  );
}

/** The parent's commit window that holds a whole group round and its leader's `commitPartial`, seconds. */
export function parentCommitWindowS(schedule: GroupSchedule): bigint {
  return longestRoundS(schedule) + PARTIAL_COMMIT_MARGIN_S;
}

export interface CreateGroupTasksParameters {
  /** How many group tasks (2..MAX_GROUPS). */
  readonly groups: number;
  /**
   * The parent task: model, spec, rule and its schedule; its rounds must be proven, like every level (default
   * true; an unproven parent would take proven partials and lie about their mean unslashed). Its commit window
   * defaults to `parentCommitWindowS` of the groups' schedule.
   */
  readonly parent: CreateTaskParameters;
  /** The group tasks' reward per round and schedule (default: the parent's, except its commit window). */
  readonly group?: Omit<CreateTaskParameters, "modelRef" | "parameters" | "specHash" | "rule" | "proven">;
}

export interface CreateGroupTasksReturnType {
  readonly parentTaskId: bigint;
  /** In creation order; group i is `groupTaskIds[i]`. */
  readonly groupTaskIds: readonly bigint[];
  readonly transactionHashes: readonly Hex[];
}

/**
 * Creates the parent task, then `groups` proven group tasks with the parent's model, spec and rule, and links
 * each to the parent (the caller creates all of them, as `linkTask` requires). Typed `InvalidArgumentError`
 * before any transaction for a group count out of range, an unproven parent, or a parent commit window that
 * cannot hold a group round.
 */
export async function createGroupTasks(
  client: ChainWriteClient,
  { groups, parent, group }: CreateGroupTasksParameters,
): Promise<CreateGroupTasksReturnType> {
  if (!Number.isInteger(groups) || groups < 2 || groups > MAX_GROUPS)
    throw new InvalidArgumentError(`a parent task takes 2 to ${MAX_GROUPS} group tasks, not ${groups}`);
  if (parent.proven === false)
    throw new InvalidArgumentError("a parent task's rounds must be proven, as every level below it is");
  const groupParameters: CreateTaskParameters = {
    ...parent,
    commitWindowS: undefined,
    ...group,
    proven: true,
  };
  const needed = parentCommitWindowS(groupParameters);
  const commitWindowS = parent.commitWindowS ?? needed;
  if (commitWindowS < needed)
    throw new InvalidArgumentError(
      `the parent's commit window (${commitWindowS} s) must hold a whole group round and its partial commit (${needed} s)`,
    );
  const hashes: Hex[] = [];
  const created = await createTask(client, { ...parent, proven: true, commitWindowS });
  hashes.push(created.transactionHash);
  const groupTaskIds: bigint[] = [];
  for (let i = 0; i < groups; i++) {
    const child = await createTask(client, groupParameters);
    hashes.push(child.transactionHash);
    groupTaskIds.push(child.taskId);
  }
  for (const childTaskId of groupTaskIds) {
    const linked = await linkTask(client, { childTaskId, parentTaskId: created.taskId });
    hashes.push(linked.transactionHash);
  }
  return { parentTaskId: created.taskId, groupTaskIds, transactionHashes: hashes };
}
