import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { REACTION_TICKS, RECENT_TICKS_KEPT, ReactionBudget } from "./reaction-budget.ts";

describe("ReactionBudget", () => {
  it("fits before the task's aggregate window is known, and while ticks are fast", () => {
    const budget = new ReactionBudget(1_000);
    for (let i = 0; i < 5; i++) budget.record(20_000);
    assert.equal(budget.fits(), true, "no window seen yet");
    budget.setWindow(30n);
    assert.equal(budget.fits(), false);
    assert.equal(budget.neededMs(), REACTION_TICKS * 20_000 + 1_000);
  });

  it("needs three of its slow ticks plus the poll interval, ignoring one outlier", () => {
    const budget = new ReactionBudget(1_000);
    budget.setWindow(15n);
    for (let i = 0; i < 10; i++) budget.record(200);
    budget.record(30_000); // one start-up restore
    assert.equal(budget.neededMs(), REACTION_TICKS * 200 + 1_000, "one slow tick is an outlier");
    assert.equal(budget.fits(), true);
    budget.record(5_000);
    assert.equal(budget.neededMs(), REACTION_TICKS * 5_000 + 1_000, "two slow ticks are a trend");
    assert.equal(budget.fits(), false);
  });

  it("fits again once the slow ticks age out", () => {
    const budget = new ReactionBudget(300);
    budget.setWindow(15n);
    for (let i = 0; i < 4; i++) budget.record(8_000);
    assert.equal(budget.fits(), false);
    for (let i = 0; i < RECENT_TICKS_KEPT; i++) budget.record(150);
    assert.equal(budget.fits(), true);
    budget.record(Number.NaN);
    budget.record(-5);
    assert.equal(budget.neededMs(), REACTION_TICKS * 150 + 300, "nonsense times are not counted");
  });
});
