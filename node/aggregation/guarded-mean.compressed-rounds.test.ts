/**
 * The node's rule over many rounds of the default compressed updates (compression/constants.ts: one 2% update,
 * then the default top-k, 4-bit values, error feedback), eight honest IID MNIST trainers and no attacker (issue
 * #20, #18's "no honest operator earns nothing"). From round 7-10 on the coordinate-wise median of eight such
 * updates is non-zero in at most a handful of coordinates, so an honest update's cosine to it rests on one or two
 * shared values. One shared value of opposite sign made the cosine negative (-0.047) and the update was rejected
 * for "direction", and trust then kept that trainer at weight 0 for two more rounds: seed 2 rounds 8 and 10, seed
 * 3 round 16. The flipper cases at 0.5% and 0.75% are guarded-mean.compressed-flipper*.test.ts.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { TrainingPool } from "../training/index.ts";
import { FLIPPER, ROUNDS, assertOnlyFlipperOut, runGuardedRounds } from "./testing/guarded-rounds.ts";

describe(
  `guarded mean with trust over ${ROUNDS} rounds of the default compressed updates`,
  { timeout: 600_000 },
  () => {
    const pool = new TrainingPool({ size: 1 });
    after(() => pool.close());

    it("gives every honest trainer a weight in every round (seeds 2 and 3, where one shared value rejected one)", async () => {
      for (const seed of [2, 3])
        assert.deepEqual(await runGuardedRounds(pool, { seed }), new Array(ROUNDS).fill([]), `seed ${seed}`);
    });

    it("rejects a sign flipper by the guard alone while honest updates agree with the last step (rounds 1-8)", async () => {
      for (const ratio of [0.005, 0.0075])
        for (const seed of [2, 4]) {
          // Only rounds 1-8 are asserted, so only they run.
          const excluded = await runGuardedRounds(pool, {
            seed,
            flipper: FLIPPER,
            ratio,
            guardOnly: true,
            rounds: 8,
          });
          assertOnlyFlipperOut(excluded, `top-k ${ratio} seed ${seed}`);
        }
    });
  },
);
