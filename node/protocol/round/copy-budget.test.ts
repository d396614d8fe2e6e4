/** A holder's budget of copies per blob and window (copy-budget.ts): a rate per blob, never a lifetime limit. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { CopyBudget } from "./copy-budget.ts";

describe("copy budget", () => {
  it("hands out at most `copies` of one blob per window, each blob on its own budget", () => {
    const budget = new CopyBudget(2, 1_000);
    assert.deepEqual(
      [budget.take("a", 0), budget.take("a", 10), budget.take("a", 20)],
      [true, true, false],
      "the third copy of a in its window is refused",
    );
    assert.equal(budget.take("b", 30), true, "another blob has its own budget");
    assert.equal(budget.take("a", 999), false, "still a's first window");
  });

  it("opens a new window once the old one has passed (a late node replaying the history is served)", () => {
    const budget = new CopyBudget(1, 1_000);
    assert.equal(budget.take("a", 0), true);
    assert.equal(budget.take("a", 500), false);
    assert.equal(budget.take("a", 1_000), true, "a new window");
    assert.equal(budget.take("a", 1_500), false);
  });

  it("forgets the oldest blobs past its bound, which may then be served again", () => {
    const budget = new CopyBudget(1, 60_000);
    assert.equal(budget.take("first", 0), true);
    for (let i = 0; i < 300; i++) budget.take(`blob-${i}`, 1);
    assert.equal(budget.take("first", 2), true, "forgotten, so a fresh budget");
    assert.equal(budget.take("blob-299", 2), false, "a recent blob's budget is kept");
  });
});
