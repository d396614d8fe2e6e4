/**
 * How one budget funds a parent task and its G group tasks (docs/protocol.md §7): G + 1 reward pools, each task
 * emitting its own reward per round. One hierarchical round is one round of every group and one of the parent, so
 * the creator names what a whole hierarchical round pays (`rewardPerRoundWei`, what a flat task of the same
 * trainers would pay a round) and the total budget; both split the same way, so every pool lasts as many rounds.
 *
 * The rule: the parent's share is 1 / (m + 1) of each, with m the trainers a group is sized for (`GROUP_FILL` of
 * the cap: 12); the groups share the rest equally; integer dust goes to the parent, so the pools sum to the
 * budget exactly. Why: a hierarchical round takes G·m trainers' updates in the groups and G partials in the parent
 * (each leader's `commitPartial`, its delivery, and the parent's aggregation and proofs); pricing a partial as
 * one more trainer of its group gives each group m + 1 shares, one of them its leader's in the parent. A group
 * trainer then earns (up to the aggregator's share of each round) R / (G·(m + 1)) a round against R / (G·m) in a
 * flat round of the same trainers: the level above costs them 1 / (m + 1) (7.7 % at m = 12). Groups share
 * equally, not by size: sizes are equal in expectation (group-tasks.ts) and a group's size is not known when
 * the pools are funded; inside a group, and among the leaders in the parent round, rewards follow weights.
 *
 * Three levels (`splitHierarchyBudget`): the same rule at each level, on the subtree below: the root takes
 * 1 / (m + 1) of the whole, each middle task's subtree an equal part of the rest, of which the middle task takes
 * 1 / (m + 1) and its leaves equal parts. A leaf trainer then pays 1 / (m + 1) per level above it (14.8 % at
 * m = 12 for two), and every pool still lasts as many rounds.
 */
import { GROUP_FILL, PROVEN_ROUND_CAP } from "./group-tasks.ts";

/** The trainers a group is sized for (12 under a cap of 16). */
export const GROUP_TRAINERS = Math.floor(PROVEN_ROUND_CAP * GROUP_FILL);

export interface GroupBudget {
  /** The parent task's funding and reward per round. */
  readonly parent: { readonly fundWei: bigint; readonly rewardPerRoundWei: bigint };
  /** Each group task's funding and reward per round (the same for every group). */
  readonly group: { readonly fundWei: bigint; readonly rewardPerRoundWei: bigint };
}

/** `total` split as the rule says: each group's equal part and the parent's (with the dust). */
function split(total: bigint, groups: number, groupTrainers: number): { parent: bigint; group: bigint } {
  const parentShare = total / BigInt(groupTrainers + 1);
  const group = (total - parentShare) / BigInt(groups);
  return { parent: total - group * BigInt(groups), group };
}

/**
 * The G + 1 pools of one budget `budgetWei` (0: none funded now) and one hierarchical round's reward
 * `rewardPerRoundWei`, for `groups` group tasks sized for `groupTrainers` trainers each.
 */
export function splitGroupBudget(
  budgetWei: bigint,
  rewardPerRoundWei: bigint,
  groups: number,
  groupTrainers: number = GROUP_TRAINERS,
): GroupBudget {
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`invalid group count ${groups}`);
  if (!Number.isInteger(groupTrainers) || groupTrainers < 1)
    throw new RangeError(`invalid group size ${groupTrainers}`);
  if (budgetWei < 0n || rewardPerRoundWei < 0n) throw new RangeError("a budget is not negative");
  const fund = split(budgetWei, groups, groupTrainers);
  const reward = split(rewardPerRoundWei, groups, groupTrainers);
  return {
    parent: { fundWei: fund.parent, rewardPerRoundWei: reward.parent },
    group: { fundWei: fund.group, rewardPerRoundWei: reward.group },
  };
}

/** The pools of a three-level hierarchy: the root's, each middle task's and each leaf task's. */
export interface HierarchyBudget {
  readonly root: GroupBudget["parent"];
  readonly middle: GroupBudget["parent"];
  readonly leaf: GroupBudget["group"];
}

/**
 * The 1 + G + G² pools of one budget for a root over `groups` middle tasks, each over `groups` leaf tasks: the
 * two-level rule applied at the root, then to each middle task's subtree (the pools sum to `budgetWei` exactly).
 */
export function splitHierarchyBudget(
  budgetWei: bigint,
  rewardPerRoundWei: bigint,
  groups: number,
  groupTrainers: number = GROUP_TRAINERS,
): HierarchyBudget {
  const top = splitGroupBudget(budgetWei, rewardPerRoundWei, groups, groupTrainers);
  const subtree = splitGroupBudget(top.group.fundWei, top.group.rewardPerRoundWei, groups, groupTrainers);
  return { root: top.parent, middle: subtree.parent, leaf: subtree.group };
}
