/**
 * Which group task a node trains in (docs/protocol.md §7, hierarchical rounds proven at every level): a parent
 * task's trainers are spread over its G group tasks by a hash of (the group epoch's seed, parent task, operator
 * address), so every node computes every operator's group from chain data alone and nobody picks its group: the
 * seed is drawn on chain each day (`drawGroupSeed`: from the `prevrandao` of a block named before anyone knew it),
 * and only operators staked before the draw began train in the epoch's group rounds (the contract refuses the others: `NotGroupMember`,
 * `StakeNewerThanGroupSeed`). A node's group stays the same through an epoch and is drawn anew the next. The
 * spread is even in expectation only: with a mean of m trainers a group, a group holds about m ± √m; a group round
 * over its cap takes a newcomer only in place of a less-staked trainer (the contract's `takeSlot`; else the commit
 * is refused), so `groupCountFor` aims below the cap.
 */
import { encodeAbiParameters, hexToBigInt, keccak256 } from "viem";
import type { Address, Hex } from "viem";

import type { ChainReadClient, ChainWriteClient } from "../chain/actions/client.ts";
import { drawGroupSeed } from "../chain/actions/draw-group-seed.ts";
import type { DrawGroupSeedParameters } from "../chain/actions/draw-group-seed.ts";
import {
  groupEpochAt,
  groupEpochEndS,
  readGroupSeed,
  readSeedEligibility,
} from "../chain/actions/read-group-seed.ts";
import type { GroupSeed } from "../chain/actions/read-group-seed.ts";
import { readChain } from "../chain/actions/write.ts";
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

/**
 * The seed of group epoch `epoch` whose seed block's `prevrandao` is `mix` (the contract's `keccak(mix, epoch)`:
 * the epoch in it, so two epochs never share a seed even if their seed blocks' values repeat).
 */
export function groupSeedFrom(mix: Hex, epoch: bigint): Hex {
  return keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }], [mix, epoch]));
}

/** The group (0..groups-1) `operator` trains in under `parentTaskId` in the epoch whose seed is `seed`. */
export function groupIndexOf(operator: Address, parentTaskId: bigint, groups: number, seed: Hex): number {
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`invalid group count ${groups}`);
  const digest = keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "uint256" }, { type: "address" }],
      [seed, parentTaskId, operator],
    ),
  );
  return Number(hexToBigInt(digest) % BigInt(groups));
}

/** Error: the task has groups and nobody drew the current group epoch's seed (and this reader may not). */
export class GroupSeedNotDrawnError extends Error {
  override readonly name = "GroupSeedNotDrawnError";
  constructor() {
    super("the task has group tasks and this group epoch's seed is not drawn yet (`drawGroupSeed`)");
  }
}

/** Who draws a missing seed: `draw`'s wallet (no wallet: nobody, the seed stays missing), and how it waits. */
export interface SeedDrawing extends DrawGroupSeedParameters {
  readonly draw?: ChainWriteClient;
}

/**
 * The current group epoch's seed (the epoch of the chain's latest block); drawn with `draw` if it is not fixed
 * (two transactions and a wait of SEED_BLOCK_DELAY blocks; another node's steps count as this one's), else
 * undefined.
 */
export async function currentGroupSeed(
  client: ChainReadClient,
  { draw, ...waiting }: SeedDrawing = {},
): Promise<GroupSeed | undefined> {
  const latest = await readChain(client, "read the chain time", () => client.publicClient.getBlock());
  const seed = await readGroupSeed(client, { epoch: groupEpochAt(latest.timestamp) });
  if (seed !== undefined || draw === undefined) return seed;
  return drawGroupSeed(draw, waiting);
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
  /** The group epoch whose seed drew the groups (undefined for a flat task: nothing drawn). */
  readonly seed?: GroupSeed;
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
  {
    taskId,
    operator,
    fromBlock,
    seed: seedOf,
  }: {
    taskId: bigint;
    operator: Address;
    fromBlock?: bigint;
    /** The group seed to draw with, asked only if the task has groups (`currentGroupSeed`). */
    seed: () => Promise<GroupSeed | undefined>;
  },
): Promise<TaskPath> {
  let root = taskId;
  for (let level = 1; level < MAX_TASK_LEVELS; level++) {
    const parent = await readParentTask(client, { childTaskId: root, fromBlock });
    if (parent === undefined) break;
    root = parent;
  }
  const levels: GroupView[] = [];
  let current = root;
  let seed: GroupSeed | undefined;
  for (let level = 1; level < MAX_TASK_LEVELS; level++) {
    const groupTaskIds = await readGroupTasks(client, { parentTaskId: current, fromBlock });
    if (groupTaskIds.length === 0) break;
    seed ??= await seedOf();
    if (seed === undefined) throw new GroupSeedNotDrawnError();
    const groupIndex = groupIndexOf(operator, current, groupTaskIds.length, seed.seed);
    levels.push({ parentTaskId: current, groupTaskIds, groupIndex, groupTaskId: groupTaskIds[groupIndex]! });
    current = groupTaskIds[groupIndex]!;
  }
  const ancestorTaskIds = levels.map((l) => l.parentTaskId).reverse();
  return { trainedTaskId: current, ancestorTaskIds, levels, ...(seed === undefined ? {} : { seed }) };
}

/** Where `trainingTaskOf` says what it chose (a pino logger). */
export interface GroupLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * The task this node trains in when its config names `taskId`, this group epoch: its own group task when `taskId`
 * is a parent task or one of its groups (a parent's rounds take only partials, and nobody picks its group), else
 * `taskId` itself. With `draw`, a node that finds the epoch's seed not drawn draws it. An operator staked after
 * the seed was drawn trains in no group round this epoch (said here; the round participant skips them). A chain
 * that cannot be read leaves the configured task (and says so).
 */
export async function trainingTaskOf(
  client: ChainReadClient,
  {
    taskId,
    operator,
    fromBlock,
    log,
    draw,
    signal,
  }: {
    taskId: bigint;
    operator: Address;
    fromBlock?: bigint;
    log: GroupLog;
    draw?: ChainWriteClient;
    /** Ends the seed draw's wait (the node was stopped while starting). */
    signal?: AbortSignal;
  },
): Promise<TaskPath> {
  try {
    const path = await readTaskPath(client, {
      taskId,
      operator,
      fromBlock,
      seed: () => currentGroupSeed(client, { draw, ...(signal === undefined ? {} : { signal }) }),
    });
    if (path.levels.length === 0 || path.seed === undefined) return path;
    log.info(
      {
        configuredTaskId: String(taskId),
        trainedTaskId: String(path.trainedTaskId),
        tasksAbove: path.ancestorTaskIds.map(String),
        groups: path.levels.map(
          (l) => `task ${l.parentTaskId}: ${l.groupIndex + 1} of ${l.groupTaskIds.length}`,
        ),
        groupEpoch: String(path.seed.epoch),
      },
      "the configured task has group tasks: training in the group this epoch's seed drew for this operator",
    );
    if (!(await readSeedEligibility(client, { operator, seed: path.seed })))
      log.warn(
        {
          groupEpoch: String(path.seed.epoch),
          seedBlock: String(path.seed.seedBlock),
          nextEpochAt: new Date(Number(groupEpochEndS(path.seed.epoch)) * 1000).toISOString(),
        },
        "this operator's stake was below the minimum before this epoch's group seed was drawn: it trains in " +
          "group rounds from the next group epoch on (a stake placed after a draw never picks its group)",
      );
    return path;
  } catch (error) {
    if (signal?.aborted === true) throw error; // stopped while starting: nothing runs
    log.warn(
      { err: error, taskId: String(taskId) },
      "could not read the task's groups: running the configured task",
    );
    return { trainedTaskId: taskId, ancestorTaskIds: [], levels: [] };
  }
}
