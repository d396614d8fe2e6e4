/**
 * The network test's rounds at load (issue #20, the CI failure of node/demo/network.test.ts): five trainers on
 * the demo's MNIST shards and MLP, its local work (2 epochs, batch 32, lr 0.1) and its compression (top-k 5%,
 * float32, error feedback), one sign-flip poisoner (×−4), the node's rule (the guarded mean with trainer trust)
 * on the honest aggregator of rounds 1 and 3; round 2 fails (the cheating aggregator), so round 3 starts from
 * round 1's model again and its history reference is round 1's step. Under load a trainer trains only the steps
 * its commit window fits (protocol/round/trainer.ts plannedSteps), so from round 2 on most honest updates can
 * be a tenth of a full one. Step counts below are the trained rounds in which the rule rejected an honest
 * full-work trainer as "outside-bounds" before the bounds judged unit-length updates (3 of 40 random draws).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { signFlip } from "../adversary/poison-update.ts";
import { TopKCompressor, densify } from "../compression/index.ts";
import type { WeightedUpdate } from "../core/updates.ts";
import { TrainingPool, createModel, loadMnist, partition } from "../training/index.ts";
import type { ModelSpec } from "../training/index.ts";
import { guardedMeanTrustAggregator, inputGroups } from "./index.ts";
import { mapFloat32 } from "../core/vectors.ts";

const MODEL: ModelSpec = { kind: "mlp", hidden: [128] };
const POISONER = 4;
const FULL = 100;

/** [seed, round 2's steps, round 3's steps] per trainer; round 1 is full work (no speed measured yet). */
const CASES: ReadonlyArray<readonly [number, readonly number[], readonly number[]]> = [
  [11, [11, 15, 12, 100, 16], [9, 7, 23, 100, 100]],
  [18, [100, 11, 100, 12, 3], [100, 6, 3, 18, 100]],
  [31, [47, 1, 5, 100, 42], [4, 14, 27, 100, 33]],
];

describe("guarded mean at load: slow honest trainers beside full-work ones", { timeout: 300_000 }, () => {
  const pool = new TrainingPool({ size: 1 });
  after(() => pool.close());
  const { train } = loadMnist({ seed: 7, testFraction: 0.2 });
  const shards = partition(train, 5, { kind: "iid" }, 7);
  const groups = inputGroups(createModel(MODEL).layout);
  const ids = shards.map((_, i) => `trainer-${i}`);

  for (const [seed, steps2, steps3] of CASES) {
    it(`seed ${seed}: rejects only the poisoner in rounds 1 and 3 (round 3 steps ${steps3.join(",")})`, async () => {
      const compressors = shards.map(() => new TopKCompressor({ ratio: 0.05, momentum: 0, seed }));
      const trainRound = (base: Float32Array, round: number, steps: readonly number[]) =>
        Promise.all(
          shards.map(async (data, i): Promise<WeightedUpdate> => {
            const result = await pool.train({
              model: MODEL,
              params: base,
              data,
              options: {
                epochs: 2,
                batchSize: 32,
                learningRate: 0.1,
                seed: round + seed * 7,
                steps: steps[i]!,
              },
            });
            const delta = mapFloat32(result.params, (x, j) => x - base[j]!);
            const sent = i === POISONER ? signFlip(delta, 4) : delta;
            // The node's weight: samples processed, at most one epoch's (trainer.ts).
            const weight = Math.max(1, Math.min(result.samples, data.count));
            return { update: densify(compressors[i]!.compress(sent)), weight };
          }),
        );
      const rule = guardedMeanTrustAggregator({ groups });
      const onlyPoisoner = ids.map((_, i) => i === POISONER);
      const init = createModel(MODEL).init(seed);
      const first = rule.aggregate(
        await trainRound(
          init,
          1,
          ids.map(() => FULL),
        ),
        { trainers: ids, round: 1 },
      );
      assert.deepEqual(
        first.acceptedWeights.map((w) => w === 0),
        onlyPoisoner,
        JSON.stringify(first.reasons),
      );
      const model = mapFloat32(init, (x, j) => x + first.aggregate[j]!);
      // Round 2 (failed): the trainers' residuals move on; round 3 starts from round 1's model again.
      await trainRound(model, 2, steps2);
      const sent = await trainRound(model, 3, steps3);
      const third = rule.aggregate(sent, { trainers: ids, round: 3, previousUpdate: first.aggregate });
      const norms = sent.map((u) => Math.sqrt(u.update.reduce((a, x) => a + x * x, 0)));
      const honestNorms = norms.filter((_, i) => i !== POISONER);
      assert.ok(
        Math.max(...honestNorms) > 2 * Math.min(...honestNorms),
        `the premise: honest updates of very different sizes (${norms.map((x) => x.toFixed(2)).join(", ")})`,
      );
      assert.deepEqual(
        third.acceptedWeights.map((w) => w === 0),
        onlyPoisoner,
        JSON.stringify(third.reasons),
      );
    });
  }
});
