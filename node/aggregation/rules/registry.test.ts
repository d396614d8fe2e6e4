/** The rule registry is the one source of names, task modes, secure-aggregation limits and provability. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Rng } from "../../core/rng.ts";
import { TrainingPool, loadMnist, runSimulation, subset } from "../../training/index.ts";
import type { SimulationConfig } from "../../training/index.ts";
import { IncompatibleModesError, isProvable, validateAggregationMode } from "../modes.ts";
import { AGGREGATION_RULES, AGGREGATOR_NAMES, aggregationRule, createAggregator } from "./index.ts";
import { mapFloat32 } from "../../core/vectors.ts";

describe("aggregation rule registry", () => {
  it("names every rule once and configures each into a working aggregator", () => {
    assert.equal(new Set(AGGREGATOR_NAMES).size, AGGREGATION_RULES.length);
    const rng = new Rng(3);
    const updates = Array.from({ length: 7 }, () => ({
      update: mapFloat32({ length: 16 }, () => rng.normal()),
      weight: 10,
    }));
    for (const rule of AGGREGATION_RULES) {
      assert.ok(rule.citation.length > 0, `${rule.name} cites its source`);
      const result = createAggregator(rule.name, { n: 7, f: 1, clipBound: 2, seed: 1 }).aggregate(updates);
      assert.equal(result.aggregate.length, 16, rule.name);
      assert.equal(result.acceptedWeights.length, 7, rule.name);
      assert.ok(result.aggregate.every(Number.isFinite), rule.name);
    }
    assert.throws(() => aggregationRule("no-such-rule"), RangeError);
  });

  it("derives task modes, secure-aggregation limits and provability from the descriptors", () => {
    for (const rule of AGGREGATION_RULES) {
      if (!rule.taskMode) {
        assert.throws(() => validateAggregationMode({ rule: rule.name }), rule.name);
        continue;
      }
      for (const clipBound of [undefined, 1]) {
        const secure = { rule: rule.name, secureAggregation: true, clipBound };
        if (rule.screensSingleUpdates({ clipBound }))
          assert.throws(() => validateAggregationMode(secure), IncompatibleModesError, rule.name);
        else assert.equal(isProvable(validateAggregationMode(secure)), false, "never proven under SecAgg");
        assert.equal(
          isProvable(validateAggregationMode({ rule: rule.name, clipBound })),
          rule.provable({ clipBound }),
          rule.name,
        );
      }
    }
  });

  it("is what the simulator aggregates with, by name (one instance per run)", async () => {
    const mnist = loadMnist({ seed: 5, testFraction: 0.2 });
    const data = {
      train: subset(
        mnist.train,
        Array.from({ length: 600 }, (_, i) => i),
      ),
      test: subset(
        mnist.test,
        Array.from({ length: 200 }, (_, i) => i),
      ),
    };
    const config: SimulationConfig = {
      model: { kind: "mlp", hidden: [16] },
      server: "fedavg",
      nodes: 5,
      rounds: 2,
      partition: { kind: "iid" },
      localEpochs: 1,
      batchSize: 32,
      learningRate: 0.05,
      seed: 2,
    };
    const pool = new TrainingPool({ size: 1 });
    try {
      const plain = await runSimulation(pool, config, data);
      const fedavg = await runSimulation(pool, { ...config, rule: "fedavg" }, data);
      const median = await runSimulation(pool, { ...config, rule: "median" }, data);
      const guarded = await runSimulation(pool, { ...config, rule: "guarded-mean" }, data);
      assert.deepEqual(fedavg.params, plain.params, "the registry's fedavg is the default");
      assert.notDeepEqual(median.params, plain.params, "the median is used");
      const last = (r: typeof plain) => r.history.at(-1)!.accuracy;
      assert.ok(
        last(guarded) > last(plain) - 0.1,
        `the node's rule trains: ${last(guarded)} vs ${last(plain)}`,
      );
      await assert.rejects(runSimulation(pool, { ...config, rule: "no-such-rule" }, data), RangeError);
    } finally {
      await pool.close();
    }
  });
});
