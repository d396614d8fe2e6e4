/**
 * `task create --groups G [--levels 3]`: a proven hierarchy from one task description (docs/protocol.md §7). The
 * window flags are the trained level's; each level above gets a commit window that holds a whole round of the
 * level below (`createGroupTasks`); `--reward-per-round` and `--fund` are the whole hierarchy's, split over its
 * pools by one rule per level (node/protocol/group-budget.ts).
 */
import type { Hex } from "viem";

import { formatTokens } from "../../chain/amounts.ts";
import { createGroupTasks, fundTask } from "../../chain/actions/index.ts";
import type { CreateTaskParameters, HierarchyLevels } from "../../chain/actions/index.ts";
import { InvalidArgumentError } from "../../chain/errors.ts";
import { GROUP_TRAINERS, splitGroupBudget, splitHierarchyBudget } from "../../protocol/group-budget.ts";
import { trainingRoundsAbi } from "../../chain/contracts.ts";
import { printResult } from "../chain-context.ts";
import type { ChainFlags, openOperatorContext } from "../chain-context.ts";

/** `--levels` as given (default 2), refused without `--groups` or out of range, before anything is signed. */
export function parseLevels(text: string | undefined, groups: number | undefined): HierarchyLevels {
  if (text === undefined) return 2;
  if (groups === undefined)
    throw new InvalidArgumentError(`--levels ${text} needs --groups: it says how deep the group tasks go`);
  if (text !== "2" && text !== "3")
    throw new InvalidArgumentError(`--levels ${text}: a hierarchy has 2 or 3 levels (the contract's most)`);
  return text === "3" ? 3 : 2;
}

export interface CreateHierarchyParameters {
  readonly groups: number;
  readonly levels: HierarchyLevels;
  /** The whole hierarchy's budget (undefined: nothing funded now) and one hierarchical round's reward. */
  readonly fundWei: bigint | undefined;
  readonly rewardPerRoundWei: bigint;
  /** The trained level's windows (and the round interval, every level's). */
  readonly windows: Omit<CreateTaskParameters, "modelRef" | "specHash" | "parameters" | "rewardPerRoundWei">;
  /** The spec's model, hash, rule and proof mode. */
  readonly task: Pick<CreateTaskParameters, "modelRef" | "specHash" | "parameters" | "rule" | "proven">;
}

/** The pools of each level: what one of its tasks is funded with and emits a round. */
interface LevelPools {
  readonly fundWei: bigint;
  readonly rewardPerRoundWei: bigint;
}

/** Creates, links and funds the hierarchy, then prints it (JSON or lines). */
export async function createHierarchy(
  ctx: Awaited<ReturnType<typeof openOperatorContext>>,
  flags: ChainFlags,
  { groups, levels, fundWei, rewardPerRoundWei, windows, task }: CreateHierarchyParameters,
): Promise<void> {
  if (!task.proven)
    throw new InvalidArgumentError(
      "--groups: group tasks are proven at every level, and the task spec's aggregation.proven is false: nothing was signed",
    );
  const budget = fundWei ?? 0n;
  let root: LevelPools;
  let middle: LevelPools | undefined;
  let leaf: LevelPools;
  if (levels === 3) {
    ({ root, middle, leaf } = splitHierarchyBudget(budget, rewardPerRoundWei, groups));
  } else {
    const split = splitGroupBudget(budget, rewardPerRoundWei, groups);
    root = split.parent;
    leaf = split.group;
  }
  const { commitWindowS, roundIntervalS, ...upperWindows } = windows;
  const linked = await createGroupTasks(ctx, {
    groups,
    levels,
    parent: { ...task, rewardPerRoundWei: root.rewardPerRoundWei, roundIntervalS, ...upperWindows },
    group: { rewardPerRoundWei: leaf.rewardPerRoundWei, commitWindowS, roundIntervalS, ...upperWindows },
    middleRewardPerRoundWei: middle?.rewardPerRoundWei,
  });
  const fundHashes: Hex[] = [];
  if (fundWei !== undefined) {
    const fund = async (taskId: bigint, amountWei: bigint) =>
      fundHashes.push(...(await fundTask(ctx, { taskId, amountWei })).transactionHashes);
    await fund(linked.parentTaskId, root.fundWei);
    for (const taskId of linked.groupTaskIds) await fund(taskId, (middle ?? leaf).fundWei);
    for (const taskId of linked.leafTaskIds.flat()) await fund(taskId, leaf.fundWei);
  }
  const leafIds = levels === 3 ? linked.leafTaskIds.flat() : linked.groupTaskIds;
  // A parent round closes early once every group's partial is in; a group nobody trains in holds it to the end.
  const top = await ctx.publicClient.readContract({
    address: ctx.contracts.rounds,
    abi: trainingRoundsAbi,
    functionName: "getTask",
    args: [linked.parentTaskId],
  });
  const pools = (level: LevelPools) =>
    `${formatTokens(level.rewardPerRoundWei)} a round${fundWei === undefined ? "" : `, pool ${formatTokens(level.fundWei)}`}`;
  printResult(
    flags,
    {
      action: "task create",
      levels,
      ...linked,
      specHash: task.specHash,
      parentRewardPerRoundWei: root.rewardPerRoundWei,
      middleRewardPerRoundWei: middle?.rewardPerRoundWei ?? null,
      groupRewardPerRoundWei: leaf.rewardPerRoundWei,
      parentFundWei: fundWei === undefined ? null : root.fundWei,
      middleFundWei: fundWei === undefined || middle === undefined ? null : middle.fundWei,
      groupFundWei: fundWei === undefined ? null : leaf.fundWei,
      transactionHashes: [...linked.transactionHashes, ...fundHashes],
    },
    [
      levels === 3
        ? `created root task ${linked.parentTaskId} over ${groups} middle tasks (${linked.groupTaskIds.join(", ")}), each over ${groups} leaf tasks: ${linked.leafTaskIds.map((ids) => ids.join(", ")).join("; ")}`
        : `created parent task ${linked.parentTaskId} with ${groups} group tasks: ${linked.groupTaskIds.join(", ")}`,
      `  nodes configured with task ${linked.parentTaskId} train in their ${levels === 3 ? "leaf" : "group"} (keccak(parent, operator) mod ${groups} at each level; ${leafIds.length} trained tasks)`,
      `  model ref         ${task.modelRef} (the spec's initial model)`,
      `  spec hash         ${task.specHash}`,
      `  ${levels === 3 ? "root" : "parent"}            ${pools(root)}`,
      ...(middle === undefined ? [] : [`  each middle       ${pools(middle)}`]),
      `  each ${levels === 3 ? "leaf " : "group"}        ${pools(leaf)}`,
      `  sized for         about ${leafIds.length * GROUP_TRAINERS} trainers (${GROUP_TRAINERS} a ${levels === 3 ? "leaf" : "group"}); a ${levels === 3 ? "leaf" : "group"} nobody trains in holds every round above it to its whole commit window (the ${levels === 3 ? "root" : "parent"}'s: ${Math.round(Number(top.commitWindow) / 60)} min)`,
      ...[...linked.transactionHashes, ...fundHashes].map((h) => `  tx                ${h}`),
    ],
  );
}
