/**
 * The proven round-scale bench's layout and windows (round-scale-proven.ts), without running a network: every
 * node in exactly one leaf group of at most 16, two levels up to 256 and three above, and windows whose root round
 * stays within the contract's 12 hours at every size the bench takes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MAX_ROUND_DURATION_S } from "../../node/chain/constants.ts";
import { hierarchyOf, rootRoundS, scheduleFor } from "./round-scale-proven.ts";

describe("bench:round --scale-proven layout", () => {
  for (const [n, levels, middles, leaves] of [
    [32, 2, 0, 2],
    [256, 2, 0, 16],
    [257, 3, 2, 17],
    [512, 3, 2, 32],
    [1000, 3, 4, 63],
    [64, 3, 2, 4],
  ] as const) {
    it(`${n} trainers: ${levels} levels, ${leaves} leaves of at most 16, each node once`, () => {
      const layout = hierarchyOf(n, n === 64 ? 3 : undefined);
      assert.equal(layout.leaves.length, leaves);
      assert.equal(layout.middles?.length ?? 0, middles);
      assert.ok(layout.leaves.every((leaf) => leaf.length >= 2 && leaf.length <= 16));
      assert.ok((layout.middles ?? []).every((m) => m.length >= 1 && m.length <= 16));
      assert.deepEqual(
        layout.leaves.flat().sort((a, b) => a - b),
        Array.from({ length: n }, (_, i) => i),
      );
      if (layout.middles !== undefined) assert.deepEqual(layout.middles.flat(), layout.leaves);
      const { windowS, answerWindowS } = scheduleFor(n, levels);
      assert.ok(rootRoundS(windowS, answerWindowS, levels) <= MAX_ROUND_DURATION_S);
    });
  }

  it("refuses what it cannot lay out", () => {
    assert.throws(() => hierarchyOf(3));
    assert.throws(() => hierarchyOf(300, 2));
    assert.throws(() => hierarchyOf(16 * 16 * 16 + 1));
  });
});
