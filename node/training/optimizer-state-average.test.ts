/**
 * FedAvg of the nodes' optimizer states (optimizer-state-average.ts), alone and inside the simulator: with
 * `averageLocalState`, two simulated rounds equal training each node by hand from the averaged parameters and
 * the averaged Adam state. Full batches, so the row order cannot differ between the two.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  OptimizerStateMismatchError,
  TrainingPool,
  averageOptimizerStates,
  createModel,
  loadMnist,
  runSimulation,
  subset,
} from "./index.ts";
import type { ModelSpec, OptimizerState } from "./index.ts";
import { fedAvg, difference } from "../core/updates.ts";

const MODEL: ModelSpec = { kind: "mlp", hidden: [8] };
const data = subset(
  loadMnist({ seed: 5, testFraction: 0.2 }).train,
  Array.from({ length: 64 }, (_, i) => i),
);

function maxDifference(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe("averaging the nodes' optimizer states", () => {
  it("takes the row-weighted mean of the chosen tensors and of the step counts", () => {
    const a: OptimizerState = { steps: 10, tensors: [Float32Array.of(1, 2), Float32Array.of(4, 4)] };
    const b: OptimizerState = { steps: 40, tensors: [Float32Array.of(3, 6), Float32Array.of(8, 0)] };
    const both = averageOptimizerStates([a, b], [3, 1]);
    assert.deepEqual([...both[0]!.tensors[0]!], [1.5, 3]);
    assert.deepEqual([...both[1]!.tensors[1]!], [5, 3]);
    assert.equal(both[0]!.steps, 18); // 0.75 * 10 + 0.25 * 40 = 17.5, rounded
    assert.notEqual(both[0]!.tensors[0], both[1]!.tensors[0], "each node gets its own copy");
    const firstOnly = averageOptimizerStates([a, b], [3, 1], [true, false]);
    assert.deepEqual([...firstOnly[1]!.tensors[0]!], [1.5, 3]);
    assert.deepEqual([...firstOnly[1]!.tensors[1]!], [8, 0], "the second moment stays the node's own");
    const none = averageOptimizerStates([a, b], [3, 1], [false, false]);
    assert.equal(none[1]!.steps, 40, "nothing averaged: each node keeps its step count");
    assert.throws(
      () => averageOptimizerStates([a, { steps: 1, tensors: [Float32Array.of(1)] }], [1, 1]),
      OptimizerStateMismatchError,
    );
    assert.throws(() => averageOptimizerStates([a, b], [1]), OptimizerStateMismatchError);
  });

  it("in the simulator: 2 rounds equal each node trained by hand from the averaged parameters and Adam state", async () => {
    const pool = new TrainingPool({ size: 1 });
    try {
      const seed = 4;
      const config = {
        model: MODEL,
        optimizer: { kind: "adam" } as const,
        server: "fedavg" as const,
        nodes: 2,
        rounds: 2,
        partition: { kind: "iid" } as const,
        localSteps: 2,
        batchSize: 64,
        learningRate: 0.01,
        seed,
        keepLocalState: true,
      };
      const averaged = await runSimulation(
        pool,
        { ...config, averageLocalState: true },
        { train: data, test: data },
      );
      const ownState = await runSimulation(pool, config, { train: data, test: data });
      const nodes = averaged.nodeData;
      const weights = nodes.map((local) => local.count);
      let global = createModel(MODEL).init(seed);
      let states: (OptimizerState | undefined)[] = nodes.map(() => undefined);
      for (let round = 1; round <= 2; round++) {
        const results = await Promise.all(
          nodes.map((local, node) =>
            pool.train({
              model: MODEL,
              optimizer: { kind: "adam" },
              params: global,
              state: states[node],
              data: local,
              options: {
                steps: 2,
                batchSize: 64,
                learningRate: 0.01,
                seed: seed * 1_000_003 + round * 1009 + node,
                keepState: true,
              },
            }),
          ),
        );
        const mean = fedAvg(
          results.map((r, i) => ({ update: difference(r.params, global), weight: weights[i]! })),
        );
        global = global.map((v, i) => v + mean[i]!);
        states = averageOptimizerStates(
          results.map((r) => r.state!),
          weights,
        );
      }
      assert.ok(maxDifference(averaged.params, global) < 1e-6, "the simulator averaged the states");
      assert.ok(maxDifference(ownState.params, global) > 1e-5, "kept own states differ");
      await assert.rejects(
        runSimulation(
          pool,
          { ...config, keepLocalState: false, averageLocalState: true },
          { train: data, test: data },
        ),
        RangeError,
      );
    } finally {
      await pool.close();
    }
  });
});
