import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { AGGREGATE_MARGIN_SECONDS, MIN_AGGREGATE_MARGIN_SECONDS } from "./context.ts";
import {
  AGGREGATION_TIME_SLACK,
  AggregationTime,
  DEFAULT_AGGREGATION_FIXED_MS,
  DEFAULT_AGGREGATION_MS_PER_INPUT,
  postMargin,
} from "./post-margin.ts";

describe("the aggregator's deadline margin", () => {
  it("keeps the fixed margin for the post, or half a short window", () => {
    assert.equal(postMargin(undefined), AGGREGATE_MARGIN_SECONDS);
    assert.equal(postMargin(600n), AGGREGATE_MARGIN_SECONDS);
    assert.equal(postMargin(20n), 10n);
    assert.equal(postMargin(3n), MIN_AGGREGATE_MARGIN_SECONDS);
  });

  it("adds the time its aggregation of the held inputs takes, measured", () => {
    const time = new AggregationTime();
    assert.equal(time.marginS(600n, 0), AGGREGATE_MARGIN_SECONDS, "nothing held: nothing to compute");
    // Before any measurement: the defaults (fixed and per input), with slack.
    const assumed = BigInt(
      Math.ceil(
        ((DEFAULT_AGGREGATION_FIXED_MS + 254 * DEFAULT_AGGREGATION_MS_PER_INPUT) * AGGREGATION_TIME_SLACK) /
          1000,
      ),
    );
    assert.equal(time.marginS(600n, 254), AGGREGATE_MARGIN_SECONDS + assumed);
    // The 256-node round: 254 updates aggregated and posted in about 45 s (180 ms an input).
    time.record(45_000, 254);
    assert.equal(time.marginS(600n, 254), AGGREGATE_MARGIN_SECONDS + 90n, "45 s doubled");
    assert.equal(
      time.marginS(600n, 16),
      AGGREGATE_MARGIN_SECONDS + 6n,
      "16 inputs: 2.8 s doubled, rounded up",
    );
    // A fast machine measured lower: the margin shrinks back.
    time.record(1_600, 16);
    assert.equal(time.marginS(600n, 16), AGGREGATE_MARGIN_SECONDS + 4n);
  });

  it("holds one tick gap and the transactions before the post, measured", () => {
    const time = new AggregationTime();
    time.record(1_600, 16); // 100 ms an input
    const costs = { tickGapMs: 18_400, txMs: 4_000 };
    // 15 s + 18.4 s gap + 2 x (1.6 s compute + 2 transactions x 4 s) = 52.6 s, rounded up.
    assert.equal(time.marginS(600n, 16, costs, 2), AGGREGATE_MARGIN_SECONDS + 38n);
    // Nothing held: the all-zero post, one transaction and no compute, still after one tick gap.
    assert.equal(time.marginS(600n, 0, costs, 2), AGGREGATE_MARGIN_SECONDS + 27n);
    // Half of what the window leaves after the fixed margin at most: the aggregator waits as long for updates.
    assert.equal(time.marginS(60n, 16, costs, 2), AGGREGATE_MARGIN_SECONDS + 22n);
  });

  it("before its first aggregation, counts its compute as at least one tick gap", () => {
    // Session 23, 1,000 nodes in 4 hosts: tick gaps of ~80 s, a fast wallet (8 s), two inputs, a chained round.
    const costs = { tickGapMs: 80_000, txMs: 8_000 };
    const time = new AggregationTime();
    // 15 s + 80 s gap + 2 x (80 s compute + 2 x 8 s) = 287 s (the 30.2 s default gave 187 s; the path took 207 s).
    assert.equal(time.marginS(1_320n, 2, costs, 2), AGGREGATE_MARGIN_SECONDS + 272n);
    // Once measured, the measurement rules (here 10 s an input).
    time.record(20_000, 2);
    assert.equal(time.marginS(1_320n, 2, costs, 2), AGGREGATE_MARGIN_SECONDS + 152n);
    // Nothing held: nothing to compute.
    assert.equal(new AggregationTime().marginS(1_320n, 0, costs, 2), AGGREGATE_MARGIN_SECONDS + 96n);
  });

  it("never spends more than half the window left after the fixed margin on the measured share", () => {
    const time = new AggregationTime();
    time.record(60_000, 10); // 6 s an input
    assert.equal(time.marginS(100n, 10), AGGREGATE_MARGIN_SECONDS + 42n, "(100 - 15) / 2, rounded down");
    assert.equal(time.marginS(20n, 10), 10n + 5n, "a short window: half of it, plus half the rest");
  });
});
