/**
 * When a hierarchical round's level is built (`SubAggregator.levelDue`): near the aggregate deadline by the
 * clock, not by the last block's timestamp. A chain that mines only on transactions keeps its head's time
 * while the deadline passes; judged by the head, a withholding trainer kept every level waiting and the root
 * missed its deadline (the flat aggregator's fix, 3fc6739, applied to every level). And each level's share of
 * the wait grows with the round's measured delivery gaps, as the flat aggregator's quorum wait does.
 */
import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";

import { deadlineFor } from "../../scheduling/deadline.ts";
import { Aggregator } from "./aggregator.ts";
import type { AggregatorComponents } from "./aggregator.ts";
import { AGGREGATE_MARGIN_SECONDS } from "./context.ts";
import type { RoundContext, RoundView } from "./context.ts";
import type { RoundWork } from "./round-work.ts";
import { SubAggregator } from "./sub-aggregator.ts";
import type { SubAggregatorComponents } from "./sub-aggregator.ts";

const DEADLINE = 1_000n;
const WAIT_MS = 600_000;

function subAggregator(): SubAggregator {
  const ctx = {
    options: {
      aggregateWaitMs: WAIT_MS,
      // The openings service only keeps these; levelDue never calls them.
      mesh: { admission: { isAdmitted: () => true }, reportViolation: () => undefined },
    },
  } as unknown as RoundContext;
  const aggregator = new Aggregator(ctx, {} as AggregatorComponents);
  return new SubAggregator(ctx, { aggregator } as unknown as SubAggregatorComponents);
}

describe("SubAggregator.levelDue", () => {
  it("builds a level once the clock reaches the margin while the head stays old", () => {
    mock.timers.enable({ apis: ["Date"], now: 1_000_000 });
    try {
      const sub = subAggregator();
      const round = { aggregateDeadline: DEADLINE } as unknown as RoundView;
      const work = { aggregatingSince: Date.now() } as unknown as RoundWork;
      const head = DEADLINE - AGGREGATE_MARGIN_SECONDS - 10n;
      assert.equal(sub.levelDue(round, work, 2, 2, head), false, "far from the deadline, wait not over");
      mock.timers.tick(11_000);
      assert.equal(
        sub.levelDue(round, work, 2, 2, head),
        true,
        "same head, 11 s later: the margin is reached",
      );
    } finally {
      mock.timers.reset();
    }
  });

  it("builds lower levels earlier: level L of D waits L/D of the aggregate wait", () => {
    mock.timers.enable({ apis: ["Date"], now: 1_000_000 });
    try {
      const sub = subAggregator();
      const round = { aggregateDeadline: 1_000_000n } as unknown as RoundView;
      const work = { aggregatingSince: Date.now() } as unknown as RoundWork;
      mock.timers.tick(WAIT_MS / 2);
      assert.equal(sub.levelDue(round, work, 1, 2, 0n), true);
      assert.equal(sub.levelDue(round, work, 2, 2, 0n), false);
    } finally {
      mock.timers.reset();
    }
  });

  it("stretches every level's share when this round's updates came further apart than the configured wait", () => {
    mock.timers.enable({ apis: ["Date"], now: 1_000_000 });
    try {
      const sub = subAggregator();
      const round = { aggregateDeadline: 1_000_000n } as unknown as RoundView;
      // Two arrivals 800 s apart: one more delivery at that rate takes deadlineFor(1 / 800 s, 1), over WAIT_MS.
      const work = { aggregatingSince: Date.now(), longestGapMs: 800_000 } as unknown as RoundWork;
      const measured = deadlineFor(1000 / 800_000, 1);
      assert.ok(measured > WAIT_MS);
      mock.timers.tick(WAIT_MS / 2);
      assert.equal(sub.levelDue(round, work, 1, 2, 0n), false, "the configured share is not enough");
      mock.timers.tick(measured / 2 - WAIT_MS / 2);
      assert.equal(sub.levelDue(round, work, 1, 2, 0n), true, "half of the measured wait");
      assert.equal(sub.levelDue(round, work, 2, 2, 0n), false);
    } finally {
      mock.timers.reset();
    }
  });
});
