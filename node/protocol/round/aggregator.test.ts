/**
 * When a flat round's aggregator posts (`Aggregator.ready`): an aggregator that received nothing still posts
 * near its deadline (all-zero weights close the round unslashed, docs/protocol.md §3), so a trainer that
 * commits and withholds its update cannot get an honest aggregator slashed for a missed deadline.
 */
import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";

import type { Address } from "viem";

import { Aggregator } from "./aggregator.ts";
import type { AggregatorComponents } from "./aggregator.ts";
import { AGGREGATE_MARGIN_SECONDS } from "./context.ts";
import type { RoundContext, RoundView } from "./context.ts";
import type { AggregatorWork } from "./round-work.ts";

const TRAINERS: Address[] = [
  "0x00000000000000000000000000000000000000a1",
  "0x00000000000000000000000000000000000000a2",
];
const DEADLINE = 1_000n;

// `ready` reads only the wait option; the rest of the context and the components are not touched.
const aggregator = new Aggregator(
  { options: { aggregateWaitMs: 60_000 } } as unknown as RoundContext,
  {} as AggregatorComponents,
);
const round = {
  trainers: TRAINERS,
  sampleCounts: [100n, 300n],
  aggregateDeadline: DEADLINE,
} as unknown as RoundView;

function work(received: readonly Address[]): AggregatorWork {
  return {
    received: new Map(received.map((t) => [t.toLowerCase(), {}])),
    aggregatingSince: Date.now(),
  } as unknown as AggregatorWork;
}

describe("Aggregator.ready", () => {
  it("waits while nothing arrived and the deadline is far", () => {
    assert.equal(aggregator.ready(round, work([]), DEADLINE - AGGREGATE_MARGIN_SECONDS - 1n, 0.5), false);
  });

  it("posts near the deadline even with nothing received (all-zero weights, no slash)", () => {
    assert.equal(aggregator.ready(round, work([]), DEADLINE - AGGREGATE_MARGIN_SECONDS, 0.5), true);
  });

  it("posts at once when every update is in, and waits for a missing one while there is time", () => {
    assert.equal(aggregator.ready(round, work(TRAINERS), 0n, 0.5), true);
    assert.equal(aggregator.ready(round, work([TRAINERS[1]!]), 0n, 0.5), false);
    assert.equal(aggregator.ready(round, work([TRAINERS[1]!]), DEADLINE, 0.5), true);
  });

  it("judges the margin by the clock, not a stale head: a withholder below quorum cannot run it out", () => {
    // A chain that mines only on transactions keeps its head's timestamp while the clock runs (bench:attacks).
    mock.timers.enable({ apis: ["Date"], now: 1_000_000 });
    try {
      const fresh = new Aggregator(
        { options: { aggregateWaitMs: 600_000 } } as unknown as RoundContext,
        {} as AggregatorComponents,
      );
      const head = DEADLINE - AGGREGATE_MARGIN_SECONDS - 10n;
      const partial = work([TRAINERS[0]!]); // 100 of 400 committed: below the quorum
      assert.equal(fresh.ready(round, partial, head, 0.5), false);
      mock.timers.tick(11_000);
      assert.equal(fresh.ready(round, partial, head, 0.5), true, "posts once the clock reaches the margin");
    } finally {
      mock.timers.reset();
    }
  });
});
