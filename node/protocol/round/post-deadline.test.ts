/**
 * An honest aggregator holding less than a quorum posts what it has before its deadline, however its ticks fall.
 * It decides only on a round tick, and from that decision to the mined post it computes and sends its
 * transactions (a chained round: the link root, then the post). In the 512-node three-level bench (2026-12-07,
 * docs/scaling.md Session 20) ticks came every 16.4 s, the margin was the fixed 15 s plus compute, and 31 of 32
 * leaf aggregators missed their 600 s deadline with 2-14 of 16 updates held: the tick that saw the margin could
 * come with 2 s left. The margin now holds the node's measured tick gap and transaction time (post-margin.ts).
 */
import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";

import type { Address } from "viem";

import { Aggregator } from "./aggregator.ts";
import type { AggregatorComponents } from "./aggregator.ts";
import type { RoundContext, RoundView } from "./context.ts";
import { DEFAULT_AGGREGATION_FIXED_MS, DEFAULT_AGGREGATION_MS_PER_INPUT } from "./post-margin.ts";
import { ReactionBudget } from "./reaction-budget.ts";
import type { AggregatorWork } from "./round-work.ts";

/** The 512-node bench's poll interval (32 ms a node) and a tick at its load (reads of one shared chain). */
const POLL_MS = 16_384;
const TICK_MS = 2_000;
/** The wallet's slowest recent transaction, queued to mined, on that loaded chain. */
const TX_MS = 4_000;
const WINDOW_S = 600;
const DEADLINE = 100_000n;
const TRAINERS = Array.from(
  { length: 16 },
  (_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}` as Address,
);
/** 9 of 16 held: below the 0.6 quorum, so only the deadline margin makes it post. */
const HELD = 9;

/**
 * Where a post lands (chain seconds before the deadline; negative: missed) when the first tick comes `phaseMs`
 * after selection and the path from the decision to the mined post takes its compute (the defaults before a first
 * measurement) and two transactions at TX_MS, the times the margin is told.
 */
function postLeftS(phaseMs: number): number {
  const reaction = new ReactionBudget(POLL_MS);
  for (let i = 0; i < 20; i++) reaction.record(TICK_MS);
  const aggregator = new Aggregator(
    { options: { aggregateWaitMs: 60_000 } } as unknown as RoundContext,
    {
      pathCosts: () => ({ tickGapMs: reaction.tickGapMs(), txMs: TX_MS }),
    } as unknown as AggregatorComponents,
  );
  const round = {
    trainers: TRAINERS,
    sampleCounts: TRAINERS.map(() => 16n),
    aggregateDeadline: DEADLINE,
    proven: true,
  } as unknown as RoundView;
  const work = {
    received: new Map(TRAINERS.slice(0, HELD).map((t) => [t.toLowerCase(), {}])),
    aggregatingSince: Date.now(),
  } as unknown as AggregatorWork;
  const pathMs = DEFAULT_AGGREGATION_FIXED_MS + HELD * DEFAULT_AGGREGATION_MS_PER_INPUT + 2 * TX_MS;
  const selectedAtMs = Number(DEADLINE - BigInt(WINDOW_S)) * 1000;
  // Ticks at their worst spacing: one poll interval plus a whole tick apart.
  for (let atMs = selectedAtMs + phaseMs; ; atMs += POLL_MS + TICK_MS) {
    mock.timers.setTime(atMs);
    // The head is as fresh as the tick (the margin's clock estimate then adds nothing).
    if (aggregator.ready(round, work, BigInt(Math.floor(atMs / 1000)), 0.6))
      return Number(DEADLINE) - (atMs + pathMs) / 1000;
  }
}

describe("an honest aggregator's post under slow ticks", () => {
  it("lands before the deadline at every tick phase (16.4 s polls, 2 s ticks, 4 s transactions)", () => {
    mock.timers.enable({ apis: ["Date"], now: 0 });
    try {
      const worst = Math.min(
        ...Array.from({ length: 37 }, (_, i) => postLeftS(i * 500)), // phases 0-18 s, every 0.5 s
      );
      assert.ok(worst > 0, `a post landed ${(-worst).toFixed(1)} s after the deadline`);
    } finally {
      mock.timers.reset();
    }
  });
});
