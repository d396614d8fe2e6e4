/** One budget over a parent task and its groups (group-budget.ts): the parent's 1 / (m + 1), exact sums. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { parseEther } from "viem";

import { GROUP_TRAINERS, splitGroupBudget } from "./group-budget.ts";

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

  it("refuses a group count, a group size or an amount it cannot split", () => {
    assert.throws(() => splitGroupBudget(1n, 1n, 0), RangeError);
    assert.throws(() => splitGroupBudget(1n, 1n, 2, 0), RangeError);
    assert.throws(() => splitGroupBudget(-1n, 1n, 2), RangeError);
  });
});
