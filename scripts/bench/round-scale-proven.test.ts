/**
 * The proven round-scale bench's layout and windows (round-scale-proven.ts), without running a network: every
 * node in exactly one leaf group of at most 16, two levels up to 256 and three above, and windows whose root round
 * stays within the contract's 12 hours at every size the bench takes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MAX_ROUND_DURATION_S } from "../../node/chain/constants.ts";
import {
  aggregateWindowFor,
  fittedAggregateWindowS,
  hierarchyOf,
  rootRoundS,
  scheduleFor,
} from "./round-scale-proven.ts";

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

  for (const [n, levels, hosts, aggregateS, commitS] of [
    [1000, 3, 4, 1320n, 1540n], // 1,800 s derived for 250 a host; the 12-hour bound keeps 1,320 s
    [512, 3, 4, 900n, 2048n],
    [256, 2, 4, 600n, 1024n],
    [1000, 3, 1, 1320n, 1540n],
  ] as const) {
    it(`${n} trainers in ${hosts} hosts: aggregate window ${aggregateS} s, commit window ${commitS} s`, () => {
      const per = Math.ceil(n / hosts);
      const aggregate = fittedAggregateWindowS(n, levels, per);
      assert.equal(aggregate, aggregateS);
      assert.ok(aggregate <= aggregateWindowFor(per));
      const { windowS, answerWindowS } = scheduleFor(n, levels, aggregate);
      assert.equal(windowS, commitS);
      assert.ok(rootRoundS(windowS, answerWindowS, levels, aggregate) <= MAX_ROUND_DURATION_S);
    });
  }

  it("grows the aggregate window with the nodes a process hosts", () => {
    assert.equal(aggregateWindowFor(64), 600n);
    assert.equal(aggregateWindowFor(128), 900n);
    assert.equal(aggregateWindowFor(250), 1800n);
    assert.throws(() => scheduleFor(1000, 3, 3600n));
  });

  it("refuses what it cannot lay out", () => {
    assert.throws(() => hierarchyOf(3));
    assert.throws(() => hierarchyOf(300, 2));
    assert.throws(() => hierarchyOf(16 * 16 * 16 + 1));
  });
});
