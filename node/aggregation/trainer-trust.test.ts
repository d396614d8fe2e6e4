import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../core/rng.ts";
import {
  DISTRUSTED_WEIGHT,
  TRAINER_TRUST_DEFAULTS,
  alignmentScores,
  createAggregator,
  guardUpdates,
  guardedMeanTrustAggregator,
  updateTrust,
} from "./index.ts";
import { mapFloat32 } from "../core/vectors.ts";

const SIZE = 400;

/**
 * A skewed honest-looking update: a shared signal plus a trainer-specific direction as large as the signal
 * (non-IID data) plus minibatch noise.
 */
function skewedUpdate(rng: Rng, trainer: number): Float32Array {
  return mapFloat32(
    { length: SIZE },
    (_, j) => 0.01 * Math.sin(j) + 0.01 * Math.sin(j * (trainer + 2) * 0.37) + 0.004 * rng.normal(),
  );
}

/**
 * Full trust: each weight is the capped count (100) less the guard's norm weighting of updates longer than
 * the median (guarded-mean.ts normWeighting; at most a few percent for these honest updates).
 */
function assertFullWeights(weights: readonly number[], message: string): void {
  for (const w of weights) assert.ok(w >= 90 && w <= 100, `${message}: ${JSON.stringify(weights)}`);
}

describe("trainer trust (the guarded mean with history)", () => {
  it("keeps honest trainers at full weight and gives 0 or the token weight to a trainer rejected or barely aligned in turn", () => {
    const rng = new Rng(11);
    const rule = guardedMeanTrustAggregator();
    const trainers = Array.from({ length: 10 }, (_, i) => `t${i}`);
    for (let round = 0; round < 6; round++) {
      const honest = Array.from({ length: 9 }, (_, i) => skewedUpdate(rng, i));
      // A sign flipper with skewed data: its flipped update points away from the majority in some rounds
      // (rejected) and is near-orthogonal in others (accepted by the per-round guard).
      const skew = mapFloat32({ length: SIZE }, (_, j) => 0.008 * Math.cos(j * 1.7));
      const flipped = mapFloat32(skew, (x, j) =>
        round % 2 === 0 ? x - 0.01 * Math.sin(j) : x + 0.001 * Math.sin(j) + 0.004 * rng.normal(),
      );
      const updates = [flipped, ...honest].map((update) => ({ update, weight: 100 }));
      const memoryless = guardUpdates(updates).rejected[0];
      assert.equal(memoryless, round % 2 === 0, `round ${round}: the memoryless guard alternates`);
      const { acceptedWeights } = rule.aggregate(updates, { trainers });
      assertFullWeights(acceptedWeights.slice(1), `round ${round}`);
      // Rejected by the guard: 0; passed it but distrusted: the token weight (trainer-trust.ts DISTRUSTED_WEIGHT).
      const expected = memoryless ? 0 : DISTRUSTED_WEIGHT;
      assert.equal(acceptedWeights[0], expected, `round ${round}: ${JSON.stringify(acceptedWeights)}`);
    }
  });

  it("gives the token weight to a trainer whose deviation from the mean is fresh noise every round (no persistence)", () => {
    const rng = new Rng(13);
    const rule = guardedMeanTrustAggregator();
    const trainers = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const weights: number[] = [];
    for (let round = 0; round < 5; round++) {
      const honest = Array.from({ length: 9 }, (_, i) => skewedUpdate(rng, i));
      // Inside the honest spread, but its spread is new each round (the adaptive attacker's noise).
      const hiding = mapFloat32({ length: SIZE }, (_, j) => 0.008 * Math.sin(j) + 0.007 * rng.normal());
      const updates = [hiding, ...honest].map((update) => ({ update, weight: 100 }));
      assert.equal(
        guardUpdates(updates).rejected[0],
        false,
        `round ${round}: the memoryless guard accepts it`,
      );
      const result = rule.aggregate(updates, { trainers });
      assertFullWeights(result.acceptedWeights.slice(1), `round ${round}`);
      weights.push(result.acceptedWeights[0]!);
    }
    assert.equal(weights[0], 100, "no history yet: the guard's weight");
    assert.deepEqual(weights.slice(1), Array(4).fill(DISTRUSTED_WEIGHT), JSON.stringify(weights));
  });

  it("only lowers weights, and a what-if query (record: false) leaves the history unchanged", () => {
    const rng = new Rng(12);
    const trainers = Array.from({ length: 8 }, (_, i) => `t${i}`);
    const updates = Array.from({ length: 8 }, (_, i) => ({ update: skewedUpdate(rng, i), weight: 50 }));
    const guard = guardUpdates(updates);
    const { weights, records } = updateTrust(new Map(), trainers, updates, guard);
    weights.forEach((w, i) => assert.ok(Number.isInteger(w) && w <= guard.acceptedWeights[i]!));
    assert.equal(records.size, 8);
    const rule = guardedMeanTrustAggregator();
    const flipped = updates.map((u, i) => (i === 0 ? { ...u, update: u.update.map((x) => -x) } : u));
    rule.aggregate(flipped, { trainers, record: false });
    rule.aggregate(flipped, { trainers, record: false });
    assert.deepEqual(
      rule.aggregate(updates, { trainers }).acceptedWeights,
      createAggregator("guarded-mean", { n: 8, f: 2 }).aggregate(updates).acceptedWeights,
      "no history recorded by the what-if queries: the first real round is the memoryless guard's",
    );
  });

  it("scores as aligned a trainer that follows the previous step, though a coordinated minority dragged the round's median from it", () => {
    // Round 7 of bench:robust guard-edge, 30% Dirichlet 0.5, seed 3 (--log --evidence): three attackers sharing
    // one push (cosine -0.36 to the honest trainers' median) dragged the round's median their way, and an honest
    // skewed trainer (index 5) sat at cosine 0.015 to it (0.22 to the honest median). Scored on that alone its
    // trust fell to 0.23 (the token weight), the step left its classes out, and next round the history test
    // rejected it: one wrong score became two lost rounds (4.85 pt). Its cosine to the previous step, fixed before
    // this round's senders spoke, was 0.150, as typical as anyone's.
    const cosines = [0.094, 0.131, 0.108, 0.223, 0.14, 0.015, 0.289, 0.111, 0.144, 0.147];
    const steps = [0.108, 0.143, 0.119, 0.123, 0.26, 0.15, 0.036, 0.177, 0.225, 0.14];
    // A sign flipper with skewed data in the same round: low against both references.
    cosines.push(0.01);
    steps.push(-0.1);
    const guard = guardUpdates(
      cosines.map((_, i) => ({ update: mapFloat32({ length: 4 }, (_, j) => i + j + 1), weight: 100 })),
    );
    const round = {
      ...guard,
      updates: guard.updates.map((u, i) => ({
        ...u,
        cosine: cosines[i]!,
        historyCosine: steps[i]!,
        reasons: [],
      })),
      rejected: cosines.map(() => false),
    };
    const scores = alignmentScores(round, TRAINER_TRUST_DEFAULTS.fullTrustShare);
    assert.equal(scores[5], 1, JSON.stringify(scores));
    assert.ok(scores[10]! < 0.3, JSON.stringify(scores));
    // Without a previous step only the round's median scores.
    const alone = alignmentScores(
      { ...round, updates: round.updates.map((u) => ({ ...u, historyCosine: NaN })) },
      TRAINER_TRUST_DEFAULTS.fullTrustShare,
    );
    assert.ok(alone[5]! < 0.3, JSON.stringify(alone));
  });

  it("keeps trainers it distrusts out of the direction reference: three flippers voting there got an honest skewed trainer rejected", () => {
    // Round 7 of bench:robust sign-flip, 30% Dirichlet 0.5, seed 3 (--log --evidence), small: three sign flippers,
    // distrusted since their rejections in rounds 1-5, passed the direction test once the honest updates turned
    // (cosine 0.24-0.43 to the round's median) and voted in it; the median leaned their way on the classes of an
    // honest skewed trainer, which fell to cosine -0.14 and was rejected for direction (2.00 pt lost). Here: a shared
    // block the flippers also push, the skewed trainer's own block they push down, and noise.
    const BLOCK = 20;
    const roundOf = (flipped: boolean) => {
      const rng = new Rng(5);
      return Array.from({ length: 10 }, (_, i) => ({
        weight: 100,
        update: mapFloat32({ length: 4 * BLOCK }, (_, j) => {
          const flipper = i < 3;
          if (j < BLOCK) return flipper ? (flipped ? -0.8 : 0.8) : i === 5 ? 0.1 : 1 + 0.1 * rng.normal();
          if (j < 2 * BLOCK) return flipper ? -1.2 : i === 5 ? 1.5 : 0.5 * rng.normal();
          return (flipper ? 1.4 : 0.5) * rng.normal();
        }),
      }));
    };
    const trainers = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const rule = guardedMeanTrustAggregator();
    const first = rule.aggregate(roundOf(true), { trainers });
    assert.deepEqual(first.acceptedWeights.slice(0, 3), [0, 0, 0], "round 1: the flippers point away");
    const updates = roundOf(false);
    const memoryless = guardUpdates(updates);
    assert.deepEqual(
      memoryless.updates[5]!.reasons,
      ["direction"],
      "the flippers voting: the skewed trainer rejected",
    );
    assert.deepEqual(memoryless.rejected.slice(0, 3), [false, false, false]);
    const { acceptedWeights, reasons } = rule.aggregate(updates, { trainers });
    // Accepted by the guard (its trust, low for an update this skewed, may still give it the token weight).
    assert.ok(!reasons![5]!.includes("direction") && acceptedWeights[5]! > 0, JSON.stringify(reasons));
    for (const w of acceptedWeights.slice(0, 3))
      assert.ok(w <= DISTRUSTED_WEIGHT, JSON.stringify(acceptedWeights));
    for (const [i, w] of acceptedWeights.entries())
      if (i > 2 && i !== 5) assert.ok(w > 50, JSON.stringify(acceptedWeights));
  });

  it("refuses trainer ids that do not match the updates", () => {
    const rule = guardedMeanTrustAggregator();
    const updates = [1, 2, 3].map(() => ({ update: new Float32Array(4).fill(1), weight: 1 }));
    assert.throws(() => rule.aggregate(updates, { trainers: ["a"] }), { name: "AggregationInputError" });
  });
});
