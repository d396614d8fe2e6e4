/** One budget over a parent task and its groups (group-budget.ts): the parent's 1 / (m + 1), exact sums. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { parseEther } from "viem";

import { GROUP_TRAINERS, splitGroupBudget, splitHierarchyBudget } from "./group-budget.ts";

describe("splitGroupBudget", () => {
  it("gives the parent 1 / (m + 1), the groups equal parts, and loses no wei", () => {
    assert.equal(GROUP_TRAINERS, 12);
    const budget = parseEther("1300");
    const { parent, group } = splitGroupBudget(budget, parseEther("13"), 4);
    assert.equal(parent.fundWei, parseEther("100"));
    assert.equal(group.fundWei, parseEther("300"));
    assert.equal(parent.rewardPerRoundWei, parseEther("1"));
    assert.equal(group.rewardPerRoundWei, parseEther("3"));
    // Every pool lasts as many rounds.
    assert.equal(parent.fundWei / parent.rewardPerRoundWei, group.fundWei / group.rewardPerRoundWei);
    // Dust goes to the parent: the pools sum to the budget exactly, for any amounts and group counts.
    for (const [total, groups] of [
      [1n, 2],
      [999_999_999_999_999_999n, 3],
      [parseEther("7"), 16],
      [0n, 5],
    ] as const) {
      const split = splitGroupBudget(total, total, groups);
      assert.equal(split.parent.fundWei + BigInt(groups) * split.group.fundWei, total);
      assert.equal(split.parent.rewardPerRoundWei + BigInt(groups) * split.group.rewardPerRoundWei, total);
      assert.ok(split.parent.fundWei >= total / 13n);
    }
  });

  it("splits three levels by the same rule at each level, losing no wei", () => {
    // 13² VAIN over a root, 2 middles and 4 leaves: the root 1/13, each middle 1/13 of its subtree.
    const { root, middle, leaf } = splitHierarchyBudget(parseEther("169"), parseEther("169"), 2);
    assert.equal(root.fundWei, parseEther("13"));
    assert.equal(middle.fundWei, parseEther("6"));
    assert.equal(leaf.fundWei, parseEther("36"));
    for (const [total, groups] of [
      [1n, 2],
      [999_999_999_999_999_999n, 3],
      [parseEther("7"), 16],
    ] as const) {
      const split = splitHierarchyBudget(total, total, groups);
      const g = BigInt(groups);
      assert.equal(split.root.fundWei + g * split.middle.fundWei + g * g * split.leaf.fundWei, total);
      assert.equal(
        split.root.rewardPerRoundWei +
          g * split.middle.rewardPerRoundWei +
          g * g * split.leaf.rewardPerRoundWei,
        total,
      );
    }
  });

  it("refuses a group count, a group size or an amount it cannot split", () => {
    assert.throws(() => splitGroupBudget(1n, 1n, 0), RangeError);
    assert.throws(() => splitGroupBudget(1n, 1n, 2, 0), RangeError);
    assert.throws(() => splitGroupBudget(-1n, 1n, 2), RangeError);
  });
});
