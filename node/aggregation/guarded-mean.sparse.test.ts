/**
 * The guarded mean on the node's default compressed updates (compression/constants.ts: one 2% update, then
 * top-k 0.6%, 4-bit values, error feedback across rounds) in a small round: five MNIST trainers on the demo's MLP, as in the
 * real network tests. Found there (issue #20): honest trainers were rejected when the group's evidence is
 * near zero (most sent coordinates are unshared), so a bound set as a multiple of the group's median rejected
 * any honest trainer with a little evidence.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { roundAdversary } from "../adversary/index.ts";
import { triggeredTestSet } from "../adversary/backdoor.ts";
import { TrainingPool, createModel, loadMnist, partition } from "../training/index.ts";
import type { ModelSpec } from "../training/index.ts";
import { inputGroups } from "./index.ts";
import { guardStep, runCompressedRounds } from "./testing/compressed-rounds.ts";

/** The demo network's model (task-spec default) and local work (node/demo backdoor-network.test.ts). */
const MODEL: ModelSpec = { kind: "mlp", hidden: [128] };
const TRAINERS = 5;
const ROUNDS = 5;

describe("guarded mean on the node's default compressed updates, 5 trainers", { timeout: 300_000 }, () => {
  const pool = new TrainingPool({ size: 1 });
  after(() => pool.close());
  const groups = inputGroups(createModel(MODEL).layout);

  /**
   * ROUNDS rounds (testing/compressed-rounds.ts); the model moves by the mean of the accepted updates. Returns
   * each round's rejected trainers (with reasons) and the final backdoor success.
   */
  const run = async (seed: number, backdoor: boolean) => {
    const { train, test } = loadMnist({ seed, testFraction: 0.2 });
    const parts = partition(train, TRAINERS, { kind: "iid" }, seed);
    const adversaries = parts.map((_, i) =>
      roundAdversary(backdoor && i === TRAINERS - 1 ? { poisonData: "backdoor" } : {}),
    );
    const { excluded: rejected, global } = await runCompressedRounds({
      pool,
      model: MODEL,
      parts,
      rounds: ROUNDS,
      seed,
      trainingData: (i, local) => adversaries[i]!.trainingData(local),
      screen: guardStep(groups),
    });
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
