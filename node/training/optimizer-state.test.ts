/**
 * A node's local optimizer state carried from one training call to the next (a simulated node's Adam moments
 * between its rounds): training 1 step, then 2 more from the returned state, is the same as 3 steps at once.
 * Full batches, so the row order cannot differ between the two.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { LocalTrainer, TrainingPool, createModel, loadMnist, runSimulation, subset } from "./index.ts";
import type { ModelSpec, OptimizerSpec } from "./index.ts";

const MODEL: ModelSpec = { kind: "mlp", hidden: [8] };
const data = subset(
  loadMnist({ seed: 5, testFraction: 0.2 }).train,
  Array.from({ length: 64 }, (_, i) => i),
);
const options = { batchSize: 64, learningRate: 0.01, seed: 1 };

function maxDifference(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe("local optimizer state across training calls", () => {
  for (const optimizer of [{ kind: "adam" }, { kind: "sgd", momentum: 0.9 }] as OptimizerSpec[]) {
    it(`${optimizer.kind}: 1 step then 2 from the kept state equals 3 steps`, async () => {
      const trainer = await LocalTrainer.create(MODEL, optimizer);
      try {
        const init = trainer.model.init(2);
        const once = await trainer.train(init, data, { ...options, steps: 3 });
        assert.equal(once.state, undefined, "no state unless asked for");
        const first = await trainer.train(init, data, { ...options, steps: 1, keepState: true });
        assert.equal(first.state!.steps, 1);
        const resumed = await trainer.train(first.params, data, {
          ...options,
          steps: 2,
          state: first.state,
          keepState: true,
        });
        assert.equal(resumed.state!.steps, 3);
        assert.ok(maxDifference(resumed.params, once.params) < 1e-6, "same parameters as 3 steps at once");
        // A fresh start from the same point differs: the state is what carries the moments.
        const restarted = await trainer.train(first.params, data, { ...options, steps: 2 });
        assert.ok(maxDifference(restarted.params, once.params) > 1e-5, "a restart differs");
        await assert.rejects(
          trainer.train(init, data, { ...options, steps: 1, state: { steps: 1, tensors: [] } }),
          RangeError,
        );
      } finally {
        await trainer.close();
      }
    });
  }

  it("crosses the worker pool: the state comes back with the parameters and goes out with the next job", async () => {
    const pool = new TrainingPool({ size: 1 });
    try {
      const job = { model: MODEL, optimizer: { kind: "adam" } as const, data };
      const init = createModel(MODEL).init(3);
      const once = await pool.train({ ...job, params: init, options: { ...options, steps: 2 } });
      const first = await pool.train({
        ...job,
        params: init,
        options: { ...options, steps: 1, keepState: true },
      });
      const resumed = await pool.train({
        ...job,
        params: first.params,
        state: first.state,
        options: { ...options, steps: 1 },
      });
      assert.ok(maxDifference(resumed.params, once.params) < 1e-6);
    } finally {
      await pool.close();
    }
  });

  it("a simulated node keeps its state between rounds: 2 rounds of 1 step = 2 steps at once", async () => {
    const pool = new TrainingPool({ size: 1 });
    try {
      const config = {
        model: MODEL,
        optimizer: { kind: "adam" } as const,
        server: "fedavg" as const,
        nodes: 1,
        partition: { kind: "iid" } as const,
        localSteps: 1,
        batchSize: 64,
        learningRate: 0.01,
        seed: 4,
      };
      const twoRounds = await runSimulation(
        pool,
        { ...config, rounds: 2, keepLocalState: true },
        { train: data, test: data },
      );
      const restarted = await runSimulation(pool, { ...config, rounds: 2 }, { train: data, test: data });
      const once = await pool.train({
        model: MODEL,
        optimizer: { kind: "adam" },
        params: createModel(MODEL).init(4),
        data,
        options: { ...options, steps: 2 },
      });
      assert.ok(maxDifference(twoRounds.params, once.params) < 1e-6, "kept state: as if never interrupted");
      assert.ok(maxDifference(restarted.params, once.params) > 1e-5, "restarted state differs");
    } finally {
      await pool.close();
    }
  });
});
