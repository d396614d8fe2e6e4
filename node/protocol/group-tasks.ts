/**
 * Which group task a node trains in (docs/protocol.md §7, hierarchical rounds proven at every level): a parent
 * task's trainers are spread over its G group tasks by a hash of (parent task, operator address), so every node
 * computes every operator's group from chain data alone, nobody picks its group (its address is fixed by its
 * stake before the task exists), and a node's group stays the same from round to round (its replicas, its
 * leader's view of it). The spread is even in expectation only: with a mean of m trainers a group, a group holds
 * about m ± √m; a group round over its cap takes a newcomer only in place of a less-staked trainer (the
 * contract's `takeSlot`; else the commit is refused), so `groupCountFor` aims below the cap.
 */
import { encodeAbiParameters, hexToBigInt, keccak256 } from "viem";
import type { Address } from "viem";

import type { ChainReadClient } from "../chain/actions/client.ts";
import { MAX_GROUPS } from "../chain/actions/create-group-tasks.ts";
import { MAX_TASK_LEVELS } from "../chain/constants.ts";
import { readGroupTasks, readParentTask } from "../chain/actions/read-task-links.ts";

/**
 * Share of a group round's trainer cap a group is sized for: 3/4, so that a group of mean 12 under a cap of 16
 * (a chained verifier's proven round) is over it at about one standard deviation (√12 ≈ 3.5) above: 1 group in
 * 10 (Poisson(12) ≥ 17 = 0.10); under the flat verifier's 8, mean 6: 1 in 6.5 (Poisson(6) ≥ 9 = 0.15).
 */
export const GROUP_FILL = 0.75;
/** A proven round's trainer cap with a link verifier (chained proofs; MAX_PROVEN_TRAINERS = 8 without). */
export const PROVEN_ROUND_CAP = 16;

/** The group (0..groups-1) `operator` trains in under `parentTaskId`. */
export function groupIndexOf(operator: Address, parentTaskId: bigint, groups: number): number {
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`invalid group count ${groups}`);
  const digest = keccak256(
    encodeAbiParameters([{ type: "uint256" }, { type: "address" }], [parentTaskId, operator]),
  );
  return Number(hexToBigInt(digest) % BigInt(groups));
}

/**
 * How many group tasks a parent task of `trainers` expected trainers needs (2..MAX_GROUPS), for group rounds
 * capped at `groupCap` trainers. Past MAX_GROUPS × GROUP_FILL × `groupCap` (192 at 16) the groups run over their
 * target: more trainers need a third level.
 */
export function groupCountFor(trainers: number, groupCap: number = PROVEN_ROUND_CAP): number {
  const target = Math.max(1, Math.floor(groupCap * GROUP_FILL));
  return Math.min(MAX_GROUPS, Math.max(2, Math.ceil(trainers / target)));
}

/** A node's place in a parent task: the group it trains in, and the parent its group's leader commits to. */
export interface GroupView {
  readonly parentTaskId: bigint;
  /** Every group task of the parent, in link order. */
  readonly groupTaskIds: readonly bigint[];
  readonly groupIndex: number;
  /** The group task this node trains in. */
  readonly groupTaskId: bigint;
}

/** Where `operator` trains in a task's hierarchy: its group at each level, the root's first. */
export interface TaskPath {
  /** The task it trains in: its group at the lowest level, or the task itself when it has no groups. */
  readonly trainedTaskId: bigint;
  /** The tasks above `trainedTaskId`, its parent first, the root last; [] for a flat task. */
  readonly ancestorTaskIds: readonly bigint[];
  /** Its group at each level, the root's first. */
  readonly levels: readonly GroupView[];
}

/**
 * `operator`'s path through the hierarchy `taskId` is in, read from `TaskLinked` events: up from `taskId` to the
 * root, then down through the operator's group at each level (at most MAX_TASK_LEVELS levels, as the contract
 * allows). Configured with any task of a hierarchy (the root, a group, a middle level) a node lands in its own
 * group, which need not be the configured task.
 */
export async function readTaskPath(
  client: ChainReadClient,
  { taskId, operator, fromBlock }: { taskId: bigint; operator: Address; fromBlock?: bigint },
): Promise<TaskPath> {
  let root = taskId;
  for (let level = 1; level < MAX_TASK_LEVELS; level++) {
    const parent = await readParentTask(client, { childTaskId: root, fromBlock });
    if (parent === undefined) break;
    root = parent;
  }
  const levels: GroupView[] = [];
  let current = root;
  for (let level = 1; level < MAX_TASK_LEVELS; level++) {
    const groupTaskIds = await readGroupTasks(client, { parentTaskId: current, fromBlock });
    if (groupTaskIds.length === 0) break;
    const groupIndex = groupIndexOf(operator, current, groupTaskIds.length);
    levels.push({ parentTaskId: current, groupTaskIds, groupIndex, groupTaskId: groupTaskIds[groupIndex]! });
    current = groupTaskIds[groupIndex]!;
  }
  return { trainedTaskId: current, ancestorTaskIds: levels.map((l) => l.parentTaskId).reverse(), levels };
}

/** Where `trainingTaskOf` says what it chose (a pino logger). */
export interface GroupLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * The task this node trains in when its config names `taskId`: its own group task when `taskId` is a parent
 * task or one of its groups (a parent's rounds take only partials, and nobody picks its group), else `taskId`
 * itself. Read once at start; a chain that cannot be read leaves the configured task (and says so).
 */
export async function trainingTaskOf(
  client: ChainReadClient,
  {
    taskId,
    operator,
    fromBlock,
    log,
  }: { taskId: bigint; operator: Address; fromBlock?: bigint; log: GroupLog },
): Promise<TaskPath> {
  try {
    const path = await readTaskPath(client, { taskId, operator, fromBlock });
    if (path.levels.length === 0) return path;
    log.info(
      {
        configuredTaskId: String(taskId),
        trainedTaskId: String(path.trainedTaskId),
        tasksAbove: path.ancestorTaskIds.map(String),
        groups: path.levels.map(
          (l) => `task ${l.parentTaskId}: ${l.groupIndex + 1} of ${l.groupTaskIds.length}`,
        ),
      },
      "the configured task has group tasks: training in this operator's group",
    );
    return path;
  } catch (error) {
    log.warn(
      { err: error, taskId: String(taskId) },
      "could not read the task's groups: running the configured task",
    );
    return { trainedTaskId: taskId, ancestorTaskIds: [], levels: [] };
  }
}
