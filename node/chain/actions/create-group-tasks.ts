/**
 * Hierarchical rounds proven at every level (docs/protocol.md §3 "Group tasks and partials", §7): one parent
 * task and G proven group tasks linked to it, from one task description. Every group trains the parent's model
 * in ordinary proven rounds of at most 16 trainers; each finalized group round's aggregator commits the group's
 * aggregate into the parent's open round (`commitPartial`), and the parent's round is an ordinary proven round
 * over the partials. The parent's commit window must hold a whole group round (the partials are committed
 * after their group rounds finalize), so by default it is sized from the groups' schedule (`parentCommitWindowS`).
 * With `levels: 3` each group task is itself the parent of G leaf groups (the contract's MAX_TASK_LEVELS): the
 * leaves train, the middle tasks' rounds take the leaves' partials and the root's take the middles'; each level's
 * commit window holds a whole round of the level below.
 */
import type { Hex } from "viem";

import {
  DEFAULT_AGGREGATE_WINDOW_S,
  DEFAULT_ANSWER_WINDOW_S,
  DEFAULT_CHALLENGE_WINDOW_S,
  DEFAULT_COMMIT_WINDOW_S,
  DEFAULT_DISPUTE_WINDOW_S,
  MAX_ROUND_DURATION_S,
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
/** Levels `createGroupTasks` builds: a parent over groups, or a root over middle tasks over leaf groups. */
export type HierarchyLevels = 2 | 3;

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
  /** How many group tasks (2..MAX_GROUPS) under the parent, and under each middle task with `levels: 3`. */
  readonly groups: number;
  /** 2 (default): the parent over its groups; 3: the parent over `groups` middle tasks, each over `groups` leaves. */
  readonly levels?: HierarchyLevels;
  /**
   * The parent task: model, spec, rule and its schedule; its rounds must be proven, like every level (default
   * true; an unproven parent would take proven partials and lie about their mean unslashed). Its commit window
   * defaults to `parentCommitWindowS` of the groups' schedule.
   */
  readonly parent: CreateTaskParameters;
  /**
   * The group tasks' reward per round and schedule (default: the parent's, except its commit window); with
   * `levels: 3` the leaves' (the trained level).
   */
  readonly group?: GroupTaskParameters;
  /** With `levels: 3`, the middle tasks' reward per round (default: the leaves'); their windows are the leaves'. */
  readonly middleRewardPerRoundWei?: bigint;
}

/** What a group task may set apart from its parent: its reward and schedule. */
type GroupTaskParameters = Omit<
  CreateTaskParameters,
  "modelRef" | "parameters" | "specHash" | "rule" | "proven"
>;

export interface CreateGroupTasksReturnType {
  readonly parentTaskId: bigint;
  /** In creation order; group i is `groupTaskIds[i]` (the middle tasks with `levels: 3`). */
  readonly groupTaskIds: readonly bigint[];
  /** With `levels: 3`, `leafTaskIds[m][l]` is leaf l under middle m; [] with two levels. */
  readonly leafTaskIds: readonly (readonly bigint[])[];
  readonly transactionHashes: readonly Hex[];
}

/**
 * Creates the parent task, then `groups` proven group tasks with the parent's model, spec and rule, and links
 * each to the parent (the caller creates all of them, as `linkTask` requires); with `levels: 3`, then `groups`
 * leaf tasks under each group task. Typed `InvalidArgumentError` before any transaction for a group or level
 * count out of range, an unproven parent, a parent commit window that cannot hold a round of the level below, or
 * a parent round that could outlast the contract's MAX_ROUND_DURATION.
 */
export async function createGroupTasks(
  client: ChainWriteClient,
  { groups, levels = 2, parent, group, middleRewardPerRoundWei }: CreateGroupTasksParameters,
): Promise<CreateGroupTasksReturnType> {
  if (!Number.isInteger(groups) || groups < 2 || groups > MAX_GROUPS)
    throw new InvalidArgumentError(`a parent task takes 2 to ${MAX_GROUPS} group tasks, not ${groups}`);
  if (levels !== 2 && levels !== 3)
    throw new InvalidArgumentError(
      `a hierarchy has 2 or 3 levels (the contract's most), not ${String(levels)}`,
    );
  if (parent.proven === false)
    throw new InvalidArgumentError("a parent task's rounds must be proven, as every level below it is");
  const trained: CreateTaskParameters = { ...parent, commitWindowS: undefined, ...group, proven: true };
  // Each level's commit window holds a whole round of the level below it and its partial's commit.
  const middle: CreateTaskParameters | undefined =
    levels === 3
      ? {
          ...trained,
          rewardPerRoundWei: middleRewardPerRoundWei ?? trained.rewardPerRoundWei,
          commitWindowS: parentCommitWindowS(trained),
        }
      : undefined;
  const below = middle ?? trained;
  const needed = parentCommitWindowS(below);
  const commitWindowS = parent.commitWindowS ?? needed;
  if (commitWindowS < needed)
    throw new InvalidArgumentError(
      `the parent's commit window (${commitWindowS} s) must hold a whole round of the level below and its partial commit (${needed} s)`,
    );
  // The root's round is the longest; refused by the chain, it would fail the command's first transaction.
  const longest = longestRoundS({ ...parent, commitWindowS });
  if (longest > MAX_ROUND_DURATION_S)
    throw new InvalidArgumentError(
      `the ${levels === 3 ? "root" : "parent"}'s round could run ${longest} s, over the contract's ${MAX_ROUND_DURATION_S} s bound (its commit window holds a whole round of the level below): shorten the answer, aggregate or commit windows${levels === 3 ? ", or use two levels" : ""}`,
    );
  const hashes: Hex[] = [];
  const create = async (parameters: CreateTaskParameters): Promise<bigint> => {
    const created = await createTask(client, parameters);
    hashes.push(created.transactionHash);
    return created.taskId;
  };
  const link = async (childTaskId: bigint, parentTaskId: bigint): Promise<void> => {
    hashes.push((await linkTask(client, { childTaskId, parentTaskId })).transactionHash);
  };
  const parentTaskId = await create({ ...parent, proven: true, commitWindowS });
  const groupTaskIds: bigint[] = [];
  for (let i = 0; i < groups; i++) groupTaskIds.push(await create(below));
  for (const childTaskId of groupTaskIds) await link(childTaskId, parentTaskId);
  const leafTaskIds: bigint[][] = [];
  if (middle !== undefined)
    for (const middleTaskId of groupTaskIds) {
      const leaves: bigint[] = [];
      for (let i = 0; i < groups; i++) leaves.push(await create(trained));
      for (const leafTaskId of leaves) await link(leafTaskId, middleTaskId);
      leafTaskIds.push(leaves);
    }
  return { parentTaskId, groupTaskIds, leafTaskIds, transactionHashes: hashes };
}
