/**
 * The aggregation rule in its worker thread (rule-worker.ts): the same results as on this thread, its history kept
 * between calls and folded outcomes ordered before later jobs, the rule's typed refusal passed on, a crashed
 * worker a `RuleWorkerError` (the process goes on), and an abort that stops the worker and its history.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as yieldToLoop } from "node:timers/promises";

import { Rng } from "../core/rng.ts";
import { AggregationInputError } from "../core/updates.ts";
import { OffThreadRule, RULE_WORKER_BATCH, RuleWorkerError } from "./rule-worker.ts";
import { aggregationRule } from "./rules/index.ts";
import { mapFloat32 } from "../core/vectors.ts";

const SIZE = 400;
const TRAINERS = Array.from({ length: 7 }, (_, i) => `trainer-${i}`);
const OPTIONS = { n: TRAINERS.length, f: 2 };

/** An honest-looking round: a shared signal plus per-trainer noise; trainer 0 pointing away when `flipFirst`. */
function round(seed: number, flipFirst: boolean) {
  const rng = new Rng(seed);
  return TRAINERS.map((_, i) => ({
    update: mapFloat32(
      { length: SIZE },
      (_, j) => (flipFirst && i === 0 ? -1 : 1) * 0.01 * Math.sin(j) + 0.004 * rng.normal(),
    ),
    weight: 100,
  }));
}

describe("OffThreadRule", () => {
  it("gives the on-thread rule's results, keeps its history between calls and orders folded outcomes before later jobs", async () => {
    const here = aggregationRule("guarded-mean").create(OPTIONS);
    const there = new OffThreadRule({ name: "guarded-mean", options: OPTIONS });
    try {
      const outcome = {
        round: 2,
        trainers: TRAINERS,
        weights: TRAINERS.map((_, i) => (i === 1 ? 0n : 100n)),
      };
      for (const [k, updates] of [round(1, true), round(3, false)].entries()) {
        const context = { trainers: TRAINERS, round: 1 + 2 * k };
        const expected = here.aggregate(updates, context);
        const actual = await there.aggregate(updates, context);
        assert.deepEqual(actual.acceptedWeights, expected.acceptedWeights, `round ${1 + 2 * k}`);
        assert.deepEqual(actual.aggregate, expected.aggregate);
        assert.deepEqual(actual.reasons, expected.reasons);
        if (k === 0) {
          here.observeOutcome!(outcome);
          there.observeOutcome(outcome);
        }
      }
      // The premise: the history moved the second round's weights (trainer 0 pointed away in the first).
      const withHistory = await there.aggregate(round(3, false), {
        trainers: TRAINERS,
        round: 4,
        record: false,
      });
      const fresh = aggregationRule("guarded-mean").create(OPTIONS);
      const without = fresh.aggregate(round(3, false), { trainers: TRAINERS, round: 4 });
      assert.ok(
        withHistory.acceptedWeights[0]! < without.acceptedWeights[0]!,
        `${withHistory.acceptedWeights[0]} < ${without.acceptedWeights[0]}`,
      );
      assert.equal(there.resets, 0);
    } finally {
      await there.close();
    }
  });

  it("sends more updates than one batch and passes the rule's AggregationInputError on as one", async () => {
    const there = new OffThreadRule({ name: "fedavg", options: OPTIONS });
    try {
      const many = Array.from({ length: 2 * RULE_WORKER_BATCH + 3 }, (_, i) => ({
        update: mapFloat32({ length: SIZE }, () => i),
        weight: 1,
      }));
      const mean = (2 * RULE_WORKER_BATCH + 2) / 2;
      const { aggregate } = await there.aggregate(many);
      assert.ok(
        aggregate.every((x) => Math.abs(x - mean) < 1e-4),
        `every coordinate the mean ${mean}`,
      );
      const uneven = [
        { update: new Float32Array(3), weight: 1 },
        { update: new Float32Array(4), weight: 1 },
      ];
      await assert.rejects(there.aggregate(uneven), AggregationInputError);
      assert.equal(there.resets, 0, "a refusal is the rule's answer, not a failed worker");
    } finally {
      await there.close();
    }
  });

  it("turns a worker that runs out of memory into a RuleWorkerError; the process goes on", async () => {
    // A heap too small for the guarded mean's work on these updates: the worker dies of it for real.
    const there = new OffThreadRule(
      { name: "guarded-mean", options: OPTIONS },
      { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
    );
    const big = TRAINERS.map(() => ({ update: new Float32Array(200_000).fill(0.01), weight: 100 }));
    await assert.rejects(there.aggregate(big, { trainers: TRAINERS }), RuleWorkerError);
    assert.equal(there.resets, 1);
    await assert.rejects(
      new OffThreadRule({ name: "no-such-rule", options: OPTIONS }).aggregate(round(1, false)),
      RuleWorkerError,
      "a worker that fails at start is one too",
    );
  });

  it("stops the worker on abort, rejects with the reason, and starts afresh without the history", async () => {
    const there = new OffThreadRule({ name: "guarded-mean", options: OPTIONS });
    try {
      await there.aggregate(round(1, true), { trainers: TRAINERS, round: 1 });
      const controller = new AbortController();
      const big = TRAINERS.map((_, i) => ({
        update: new Float32Array(400_000).fill(0.01 * (i + 1)),
        weight: 100,
      }));
      const stopped = there.aggregate(big, { trainers: TRAINERS, round: 2 }, controller.signal);
      while (!there.busy) await yieldToLoop();
      controller.abort(new Error("node stopping"));
      await assert.rejects(stopped, /node stopping/);
      assert.equal(there.resets, 1);
      await assert.rejects(
        there.aggregate(round(3, false), { trainers: TRAINERS }, controller.signal),
        /node stopping/,
        "an aborted signal starts nothing",
      );
      // A fresh worker, a fresh rule: trainer 0's pointing away in round 1 is forgotten.
      const fresh = await there.aggregate(round(3, false), { trainers: TRAINERS, round: 4 });
      const memoryless = aggregationRule("guarded-mean").create(OPTIONS);
      assert.deepEqual(
        fresh.acceptedWeights,
        memoryless.aggregate(round(3, false), { trainers: TRAINERS, round: 4 }).acceptedWeights,
      );
    } finally {
      await there.close();
    }
  });
});
