/**
 * A trainer's job for a round (`roundTrainingJob`): a task that names its local optimizer continues the node's
 * own optimizer state from round to round through the real worker pool; a task without one keeps the pool's
 * default SGD restarted every round (the MLP figures' setting).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { TrainingPool, createModel, loadMnist, subset } from "../../training/index.ts";
import type { ModelSpec } from "../../training/index.ts";
import { taskSpecSchema } from "../task-spec.ts";
import { roundTrainingJob } from "./training-job.ts";

const data = subset(
  loadMnist({ seed: 5, testFraction: 0.2 }).train,
  Array.from({ length: 64 }, (_, i) => i),
);
const model: ModelSpec = { kind: "mlp", hidden: [8] };

describe("roundTrainingJob", () => {
  it("without a named optimizer: the pool's default, no state kept (unchanged task specs)", () => {
    const spec = taskSpecSchema.parse({ model, train: { batchSize: 64 } });
    assert.equal("optimizer" in spec.train, false, "an absent optimizer stays absent in the parsed spec");
    const job = roundTrainingJob(spec, createModel(model).init(1), data, {
      steps: 2,
      seed: 7,
      state: undefined,
    });
    assert.equal(job.optimizer, undefined);
    assert.equal(job.state, undefined);
    assert.deepEqual(job.options, {
      epochs: 1,
      batchSize: 64,
      learningRate: 0.1,
      steps: 2,
      seed: 7,
      keepState: false,
    });
  });

  it("with FedProx μ: the proximal term toward the base model, which holds the update closer to it", async () => {
    const base = createModel(model).init(1);
    const plainSpec = taskSpecSchema.parse({ model, train: { batchSize: 16, learningRate: 0.1 } });
    const proxSpec = taskSpecSchema.parse({ model, train: { batchSize: 16, learningRate: 0.1, proxMu: 5 } });
    const job = roundTrainingJob(proxSpec, base, data, { steps: undefined, seed: 7, state: undefined });
    assert.equal(job.proxMu, 5);
    assert.equal(job.globalParams, base, "the proximal anchor is the round's base model");
    assert.equal("proxMu" in job.options, false, "μ is not a training option");
    const pool = new TrainingPool({ size: 1 });
    try {
      const distance = async (spec: typeof plainSpec) => {
        const { params } = await pool.train(
          roundTrainingJob(spec, base, data, { steps: undefined, seed: 7, state: undefined }),
        );
        let sum = 0;
        for (let i = 0; i < params.length; i++) sum += (params[i]! - base[i]!) ** 2;
        return Math.sqrt(sum);
      };
      const plain = await distance(plainSpec);
      const prox = await distance(proxSpec);
      assert.ok(prox < plain, `FedProx update norm ${prox} < plain ${plain}`);
    } finally {
      await pool.close();
    }
  });

  it("with Adam: the state of one round goes into the next through the worker pool", async () => {
    const spec = taskSpecSchema.parse({
      model,
      train: { batchSize: 64, learningRate: 0.003, optimizer: { kind: "adam" } },
    });
    const pool = new TrainingPool({ size: 1 });
    try {
      const round = (params: Float32Array, state: Parameters<typeof roundTrainingJob>[3]["state"]) =>
        pool.train(roundTrainingJob(spec, params, data, { steps: 2, seed: 7, state }));
      const first = await round(createModel(model).init(1), undefined);
      assert.equal(first.state?.steps, 2, "Adam's moments come back after the first round");
      assert.equal(first.state.tensors.length, 2, "m and v");
      const second = await round(first.params, first.state);
      assert.equal(second.state?.steps, 4, "the second round continued the first's bias correction");
      const restarted = await round(first.params, undefined);
      let differs = false;
      for (let i = 0; i < restarted.params.length && !differs; i++)
        differs = Math.abs(restarted.params[i]! - second.params[i]!) > 1e-6;
      assert.ok(differs, "a restarted optimizer moves differently: the state carries the moments");
    } finally {
      await pool.close();
    }
  });
});
