/**
 * When a flat round's aggregator posts (`Aggregator.ready`): an aggregator that received nothing still posts
 * near its deadline (all-zero weights close the round unslashed, docs/protocol.md §3), so a trainer that
 * commits and withholds its update cannot get an honest aggregator slashed for a missed deadline.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, it, mock } from "node:test";

import { pino } from "pino";
import type { Address } from "viem";

import { DISTRUSTED_WEIGHT } from "../../aggregation/index.ts";
import { Aggregator } from "./aggregator.ts";
import type { AggregatorComponents } from "./aggregator.ts";
import { AGGREGATE_MARGIN_SECONDS, MIN_AGGREGATE_MARGIN_SECONDS } from "./context.ts";
import type { RoundContext, RoundView } from "./context.ts";
import { noteArrival } from "./round-work.ts";
import type { AggregatorWork } from "./round-work.ts";
import { mapFloat32 } from "../../core/vectors.ts";

const TRAINERS: Address[] = [
  "0x00000000000000000000000000000000000000a1",
  "0x00000000000000000000000000000000000000a2",
];
const DEADLINE = 1_000n;

// `ready` reads only the wait option; the rest of the context and the components are not touched. A new one for
// each test: an aggregator's clock keeps the freshest chain time it saw (chain-clock.ts), and the tests below move
// the head back and forth.
const newAggregator = () =>
  new Aggregator(
    { options: { aggregateWaitMs: 60_000 } } as unknown as RoundContext,
    {} as AggregatorComponents,
  );
let aggregator = newAggregator();
beforeEach(() => (aggregator = newAggregator()));
const round = {
  trainers: TRAINERS,
  sampleCounts: [100n, 300n],
  aggregateDeadline: DEADLINE,
} as unknown as RoundView;

/** Work that first looked with `windowLeftS` to the deadline (default: a long window, the plain margin applies). */
function work(received: readonly Address[], windowLeftS: bigint = 60n): AggregatorWork {
  return {
    received: new Map(received.map((t) => [t.toLowerCase(), {}])),
    aggregatingSince: Date.now(),
    windowLeftS,
  } as unknown as AggregatorWork;
}

describe("Aggregator.ready", () => {
  it("waits while nothing arrived and the deadline is far", () => {
    assert.equal(aggregator.ready(round, work([]), DEADLINE - AGGREGATE_MARGIN_SECONDS - 1n, 0.5), false);
  });

  it("posts near the deadline even with nothing received (all-zero weights, no slash)", () => {
    assert.equal(aggregator.ready(round, work([]), DEADLINE - AGGREGATE_MARGIN_SECONDS, 0.5), true);
  });

  it("in a window shorter than twice the margin, waits half of it for the first update (not all-zero at once)", () => {
    const fresh = { received: new Map(), aggregatingSince: Date.now() } as unknown as AggregatorWork;
    assert.equal(aggregator.ready(round, fresh, DEADLINE - 15n, 0.5), false, "selected with 15 s left");
    assert.equal(fresh.windowLeftS, 15n);
    assert.equal(aggregator.ready(round, fresh, DEADLINE - 8n, 0.5), false);
    assert.equal(aggregator.ready(round, fresh, DEADLINE - 7n, 0.5), true, "half the window left: posts");
    const late = work([], 3n); // a restarted aggregator with 3 s left keeps its MIN_AGGREGATE_MARGIN_SECONDS
    assert.equal(aggregator.ready(round, late, DEADLINE - MIN_AGGREGATE_MARGIN_SECONDS, 0.5), true);
  });

  it("posts at once when every update is in, and waits for a missing one while there is time", () => {
    assert.equal(aggregator.ready(round, work(TRAINERS), 0n, 0.5), true);
    assert.equal(aggregator.ready(round, work([TRAINERS[1]!]), 0n, 0.5), false);
    assert.equal(aggregator.ready(round, work([TRAINERS[1]!]), DEADLINE, 0.5), true);
  });

  it("with a quorum in, waits until no update arrived for the wait, counting from the latest arrival", () => {
    const trickling = { ...work([TRAINERS[1]!]), aggregatingSince: Date.now() - 61_000 }; // 300 of 400: a quorum
    assert.equal(
      aggregator.ready(round, { ...trickling, lastArrivalAt: Date.now() - 1_000 }, 0n, 0.5),
      false,
    );
    assert.equal(
      aggregator.ready(round, { ...trickling, lastArrivalAt: Date.now() - 61_000 }, 0n, 0.5),
      true,
    );
    assert.equal(aggregator.ready(round, trickling, 0n, 0.5), true, "nothing since the start of the wait");
  });

  it("sizes the quorum wait from the round's measured arrivals: a trickle slower than the wait is waited for", () => {
    mock.timers.enable({ apis: ["Date"], now: 1_000_000 });
    try {
      const quick = new Aggregator(
        { options: { aggregateWaitMs: 2_000 } } as unknown as RoundContext,
        {} as AggregatorComponents,
      );
      const trickle = { ...work([]), aggregatingSince: Date.now() };
      mock.timers.tick(5_000);
      noteArrival(trickle, Date.now()); // the first update: the wait before it is not a gap between arrivals
      assert.equal(trickle.longestGapMs, undefined);
      mock.timers.tick(20_000);
      noteArrival(trickle, Date.now()); // the second, 20 s later
      trickle.received.set(TRAINERS[1]!.toLowerCase(), {} as never); // 300 of 400: a quorum
      assert.equal(trickle.longestGapMs, 20_000);
      mock.timers.tick(10_000); // past the configured 2 s, short of one more delivery at the measured rate
      assert.equal(quick.ready(round, trickle, 0n, 0.5), false, "the next update may still come");
      // deadlineFor at one delivery per 20 s: 1.5 x 20 s + 2 s overhead = 32 s after the latest arrival.
      mock.timers.tick(21_000);
      assert.equal(quick.ready(round, trickle, 0n, 0.5), false, "31 s since the last arrival");
      mock.timers.tick(1_000);
      assert.equal(quick.ready(round, trickle, 0n, 0.5), true, "32 s: the straggler is dropped");
      // Without a measured gap the configured wait applies as before.
      const measuredNothing = { ...trickle, longestGapMs: undefined, lastArrivalAt: Date.now() - 2_000 };
      assert.equal(quick.ready(round, measuredNothing, 0n, 0.5), true);
    } finally {
      mock.timers.reset();
    }
  });

  it("judges the margin by the clock, not a stale head: a withholder below quorum cannot run it out", () => {
    // A chain that mines only on transactions keeps its head's timestamp while the clock runs.
    mock.timers.enable({ apis: ["Date"], now: 1_000_000 });
    try {
      const fresh = new Aggregator(
        { options: { aggregateWaitMs: 600_000 } } as unknown as RoundContext,
        {} as AggregatorComponents,
      );
      const partial = work([TRAINERS[0]!]); // 100 of 400 committed: below the quorum
      // The margin for one held input (the fixed 15 s and the default compute before a measurement).
      const head = DEADLINE - fresh.marginS(partial.windowLeftS, 1) - 10n;
      assert.equal(fresh.ready(round, partial, head, 0.5), false);
      mock.timers.tick(11_000);
      assert.equal(fresh.ready(round, partial, head, 0.5), true, "posts once the clock reaches the margin");
    } finally {
      mock.timers.reset();
    }
  });
});

describe("Aggregator.screen", () => {
  const SIZE = 300;
  const trainers = Array.from(
    { length: 7 },
    (_, i) => `0x00000000000000000000000000000000000000b${i}` as Address,
  );
  const screening = { trainers, sampleCounts: trainers.map(() => 100n) } as unknown as RoundView;
  // A model of SIZE parameters (29 inputs x 10 classes + 10 biases): the guard groups coordinates by its layout.
  const context = {
    options: {
      spec: {
        model: { kind: "mlp", inputSize: 29, hidden: [], classes: 10 },
        aggregation: { rule: "guarded-mean" }, // the task spec's rule (the node's default)
      },
    },
    log: pino({ level: "silent" }),
  } as unknown as RoundContext;
  /** An honest-looking update: a shared signal and a trainer-specific part (non-IID data), deterministic. */
  const honest = (i: number, round: number) =>
    mapFloat32(
      { length: SIZE },
      (_, j) => 0.01 * Math.sin(j) + 0.006 * Math.sin(j * (i + 2) * 0.37) + 0.001 * Math.cos(j * round),
    );
  const received = (updates: readonly Float32Array[]) =>
    ({
      received: new Map(trainers.map((t, i) => [t.toLowerCase(), { dense: updates[i]! }])),
    }) as unknown as AggregatorWork;

  it("keeps a trainer that pointed away from the majority at the token weight in the next round, even when it then looks honest", async () => {
    const screener = new Aggregator(context, {} as AggregatorComponents);
    const operators = trainers.map((t) => t.toLowerCase());
    const first = trainers.map((_, i) => (i === 0 ? honest(0, 1).map((x) => -x) : honest(i, 1)));
    /**
     * `first` for the first trainer (0 when rejected, the token weight when distrusted), and every other one
     * kept: its 100 samples, or a little less when its update is longer than the median (the guarded mean's norm
     * weighting: capped count x median norm / its norm).
     */
    const onlyFirstRejected = (weights: ReadonlyMap<string, number>, first: number, message: string) => {
      assert.equal(weights.get(operators[0]!), first, message);
      for (const operator of operators.slice(1)) {
        const weight = weights.get(operator)!;
        assert.ok(weight >= 90 && weight <= 100, `${message}: ${operator} kept (weight ${weight})`);
      }
    };
    onlyFirstRejected(await screener.screen(screening, received(first), operators), 0, "rejected");
    const second = await screener.screen(
      screening,
      received(trainers.map((_, i) => honest(i, 2))),
      operators,
    );
    onlyFirstRejected(second, DISTRUSTED_WEIGHT, "distrusted, not only rejected");
    // A node that has not aggregated this trainer before applies the memoryless guard: it accepts it.
    const fresh = new Aggregator(context, {} as AggregatorComponents);
    const memoryless = await fresh.screen(
      screening,
      received(trainers.map((_, i) => honest(i, 2))),
      operators,
    );
    assert.ok(memoryless.get(operators[0]!)! >= 90);
  });

  it("hands the previous round's model step to the rule: an update undoing it gets weight 0, none without it", async () => {
    const operators = trainers.map((t) => t.toLowerCase());
    // The previous step: the shared signal plus a direction this round's group no longer pushes.
    const step = mapFloat32({ length: SIZE }, (_, j) => 0.01 * Math.sin(j) + 0.05 * Math.cos(3 * j));
    const updates = trainers.map((_, i) =>
      i === 0 ? honest(0, 3).map((x, j) => x - 0.006 * Math.cos(3 * j)) : honest(i, 3),
    );
    const without = await new Aggregator(context, {} as AggregatorComponents).screen(
      screening,
      received(updates),
      operators,
    );
    assert.ok(without.get(operators[0]!)! > 0, "the premise: the round's own evidence passes it");
    const withStep = await new Aggregator(context, {} as AggregatorComponents).screen(
      screening,
      received(updates),
      operators,
      3n,
      step,
    );
    assert.equal(withStep.get(operators[0]!), 0);
    for (const operator of operators.slice(1)) assert.ok(withStep.get(operator)! > 0, operator);
  });
});
