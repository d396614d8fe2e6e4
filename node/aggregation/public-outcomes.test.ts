/**
 * Trust across aggregator rotation and its memory bound: posted weights of rounds another node aggregated are
 * folded into the records (public-outcomes.ts), and records are pruned (trainer-trust.ts `pruneRecords`).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Rng } from "../core/rng.ts";
import { TRAINER_TRUST_DEFAULTS, foldPublicOutcome, guardUpdates, updateTrust } from "./index.ts";
import type { TrainerRecord } from "./index.ts";
import { mapFloat32 } from "../core/vectors.ts";

const SIZE = 200;
const trainers = Array.from({ length: 6 }, (_, i) => `0x${i}`);

function honestRound(rng: Rng): { update: Float32Array; weight: number }[] {
  return trainers.map((_, t) => ({
    update: mapFloat32(
      { length: SIZE },
      (_, j) => 0.01 * Math.sin(j) + 0.005 * Math.sin(j * (t + 2) * 0.37) + 0.002 * rng.normal(),
    ),
    weight: 100,
  }));
}

/** One round this node aggregates: the guard and the trust update, numbered `round`. */
function scoreRound(records: ReadonlyMap<string, TrainerRecord>, rng: Rng, round: number) {
  const updates = honestRound(rng);
  return updateTrust(records, trainers, updates, guardUpdates(updates), {}, round);
}

describe("trainer trust across rotation (public outcomes) and its memory bound", () => {
  it("a trainer another aggregator gave weight 0 starts distrusted here; an accepted one keeps full weight", () => {
    const folded = foldPublicOutcome(new Map(), {
      round: 1,
      trainers,
      weights: [0n, 100n, 100n, 100n, 100n, 100n],
    });
    assert.equal(folded.get("0x0")!.trust, 0);
    assert.equal(folded.get("0x1")!.trust, 1);
    const next = scoreRound(folded, new Rng(1), 2);
    assert.equal(
      next.weights[0],
      1,
      "distrusted for the round after (fast trust 0.5 < 0.6): the token weight",
    );
    // Full weight, less the guard's norm weighting of updates longer than the median (a few percent here).
    for (const w of next.weights.slice(1)) assert.ok(w >= 95 && w <= 100, `${next.weights}`);
    const after = scoreRound(next.records, new Rng(2), 3);
    const guardWeight = after.weights[0]! / 0.75;
    assert.ok(guardWeight >= 95 && guardWeight <= 101, `climbs back: fast trust 0.75 (${after.weights})`);
  });

  it("one zero (a lying aggregator's) does not exclude an honest trainer while the aggregator rotates", () => {
    // Three honest nodes take turns as aggregator; before screening, each folds the posted weights of every
    // earlier round it did not score, as the node does (aggregator.ts). Round 1's aggregator lies: weight 0 for
    // trainer 0x0. Before the token weight, each later aggregator's distrust was posted as another 0, folded
    // as fresh evidence by the next: 0x0 stayed at weight 0 in every round (soak, 2026-12-06).
    const views: Map<string, TrainerRecord>[] = [new Map(), new Map(), new Map()];
    const scored = views.map(() => new Set<number>());
    const posted: { round: number; trainers: string[]; weights: number[] }[] = [
      { round: 1, trainers, weights: [0, 100, 100, 100, 100, 100] },
    ];
    const weightsOf0x0: number[] = [];
    for (let round = 2; round <= 10; round++) {
      const me = round % 3;
      let records: Map<string, TrainerRecord> = views[me]!;
      for (const outcome of posted)
        if (!scored[me]!.has(outcome.round)) records = foldPublicOutcome(records, outcome);
      const result = scoreRound(records, new Rng(round), round);
      views[me] = result.records;
      scored[me]!.add(round);
      posted.push({ round, trainers, weights: result.weights });
      weightsOf0x0.push(result.weights[0]!);
    }
    assert.equal(weightsOf0x0[0], 1, `round 2: distrusted, token weight (${weightsOf0x0})`);
    // Trusted again from round 3; the slow trust (the mean of its scores with the lie's 0) climbs back to full.
    for (const w of weightsOf0x0.slice(1)) assert.ok(w >= 70, `rounds 3-10: trusted (${weightsOf0x0})`);
    assert.ok(weightsOf0x0.at(-1)! >= 85, `${weightsOf0x0}`);
  });

  it("does not fold a round this node already scored, and folds alike for anyone (a pure function)", () => {
    const own = scoreRound(new Map(), new Rng(3), 4).records;
    const outcome = { round: 4, trainers, weights: [0n, 0n, 0n, 0n, 0n, 0n] };
    assert.deepEqual(foldPublicOutcome(own, outcome), own);
    const a = foldPublicOutcome(new Map(), { ...outcome, round: 5 });
    const b = foldPublicOutcome(new Map(), { ...outcome, round: 5 });
    assert.deepEqual(a, b);
  });

  it("keeps deviation vectors only for the latest round's trainers and forgets trainers gone for 16 rounds", () => {
    let records = scoreRound(new Map(), new Rng(4), 1).records;
    assert.ok([...records.values()].every((r) => r.deviation?.length === SIZE));
    // Round 2 without trainer 0x5: its record stays, its model-sized vector goes.
    const updates = honestRound(new Rng(5)).slice(0, 5);
    records = updateTrust(records, trainers.slice(0, 5), updates, guardUpdates(updates), {}, 2).records;
    assert.equal(records.get("0x5")!.deviation, undefined);
    assert.equal(records.get("0x4")!.deviation?.length, SIZE);
    records = foldPublicOutcome(records, {
      round: 1 + TRAINER_TRUST_DEFAULTS.forgetAfterRounds,
      trainers: trainers.slice(0, 5),
      weights: [1n, 1n, 1n, 1n, 1n],
    });
    assert.equal(records.has("0x5"), false, "absent since round 1: forgotten");
    assert.equal(records.size, 5);
    assert.ok([...records.values()].every((r) => r.deviation === undefined));
  });
});
