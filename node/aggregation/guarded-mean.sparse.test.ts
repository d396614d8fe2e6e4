/**
 * The guarded mean on the node's default compressed updates (compression/constants.ts: top-k 0.5%, 4-bit
 * values, error feedback across rounds) in a small round: five MNIST trainers on the demo's MLP, as in the
 * real network tests. Found there (issue #20): honest trainers were rejected when the group's evidence is
 * near zero (most sent coordinates are unshared), so a bound set as a multiple of the group's median rejected
 * any honest trainer with a little evidence.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { roundAdversary } from "../adversary/index.ts";
import { triggeredTestSet } from "../adversary/backdoor.ts";
import { DEFAULT_TOPK_RATIO, DEFAULT_VALUE_BITS } from "../compression/constants.ts";
import { TopKCompressor, densify } from "../compression/index.ts";
import { difference, fedAvg } from "../core/updates.ts";
import { TrainingPool, createModel, loadMnist, partition } from "../training/index.ts";
import type { ModelSpec } from "../training/index.ts";
import { guardUpdates, inputGroups } from "./index.ts";

/** The demo network's model (task-spec default) and local work (node/demo backdoor-network.test.ts). */
const MODEL: ModelSpec = { kind: "mlp", hidden: [128] };
const TRAINERS = 5;
const ROUNDS = 5;

describe("guarded mean on the node's default compressed updates, 5 trainers", { timeout: 300_000 }, () => {
  const pool = new TrainingPool({ size: 1 });
  after(() => pool.close());
  const groups = inputGroups(createModel(MODEL).layout);

  /**
   * ROUNDS rounds from the same initial model: each trainer's compressor keeps its residual across rounds, as
   * the node's does; the model moves by the mean of the accepted updates. Returns each round's rejected
   * trainers (with reasons) and the final backdoor success.
   */
  const run = async (seed: number, backdoor: boolean) => {
    const { train, test } = loadMnist({ seed, testFraction: 0.2 });
    const parts = partition(train, TRAINERS, { kind: "iid" }, seed);
    const adversaries = parts.map((_, i) =>
      roundAdversary(backdoor && i === TRAINERS - 1 ? { poisonData: "backdoor" } : {}),
    );
    const compressors = parts.map(
      (_, i) =>
        new TopKCompressor({
          ratio: DEFAULT_TOPK_RATIO,
          quantizeBits: DEFAULT_VALUE_BITS,
          seed: seed * 7 + i + 1,
        }),
    );
    let global = createModel(MODEL).init(seed);
    const rejected: string[][] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const base = global;
      const sent = await Promise.all(
        parts.map(async (local, i) => {
          const { params } = await pool.train({
            model: MODEL,
            params: base,
            data: adversaries[i]!.trainingData(local),
            options: { epochs: 2, batchSize: 32, learningRate: 0.1, seed: seed + round * 10 + i },
          });
          return { update: densify(compressors[i]!.compress(difference(params, base))), weight: local.count };
        }),
      );
      const guard = guardUpdates(sent, {}, groups);
      rejected.push(
        guard.updates.flatMap((g, i) => (g.reasons.length > 0 ? [`${i}:${g.reasons.join("+")}`] : [])),
      );
      const step = fedAvg(sent.filter((_, i) => !guard.rejected[i]));
      global = Float32Array.from(base, (x, j) => x + step[j]!);
    }
    const success = (await pool.evaluate(MODEL, global, triggeredTestSet(test))).accuracy;
    return { rejected, success };
  };

  it("rejects no honest trainer in any round (seeds where the median-relative bounds did)", async () => {
    for (const seed of [1, 3]) {
      const { rejected } = await run(seed, false);
      assert.deepEqual(rejected, new Array(ROUNDS).fill([]), `seed ${seed}`);
    }
  });

  it("rejects the trainer on trigger-stamped data every round, and only it; the backdoor does not take", async () => {
    const { rejected, success } = await run(5, true);
    for (const [r, names] of rejected.entries())
      assert.deepEqual(
        names.map((s) => s.split(":")[0]),
        [String(TRAINERS - 1)],
        `round ${r + 1}: ${names.join(" ")}`,
      );
    assert.ok(success <= 0.1, `backdoor success ${success}`);
  });
});
