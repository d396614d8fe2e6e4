/**
 * The guard against a coordinated push (issue #20, adaptive-persistent): three attackers share one push and
 * hide it under independent noise, so each pair's deviation cosine sits between the honest pairs' and the
 * near-duplicate bound (0.6) and the pair test accepts them. What gives them away is that each one's deviation
 * points like two others' at once; honest non-IID trainers, two of them with the same skew, have at most one
 * such partner.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../core/rng.ts";
import { guardUpdates } from "./index.ts";
import { mapFloat32 } from "../core/vectors.ts";

const SIZE = 1000;
const FULL = 100;

/** `scale` × a standard normal vector (one coordinate each). */
function noise(rng: Rng, scale: number): Float32Array {
  return mapFloat32({ length: SIZE }, () => scale * rng.normal());
}

/**
 * A 10-trainer round: 7 honest trainers with Dirichlet-like skews (a direction of their own on top of the shared
 * gradient; trainers 3 and 4 share one, as two trainers holding the same classes do) and 3 attackers sending
 * half the shared gradient plus one shared push plus their own noise.
 */
function round(seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const gradient = mapFloat32({ length: SIZE }, (_, j) => 0.02 * Math.sin(j / 7) + 0.005);
  const skews = Array.from({ length: 6 }, () => noise(rng, 0.01));
  const honest = [0, 0, 1, 2, 3, 4, 5].map((k) => {
    const own = noise(rng, 0.01);
    return mapFloat32(gradient, (g, j) => g + skews[k]![j]! + own[j]!);
  });
  const push = noise(rng, 0.013);
  const attackers = Array.from({ length: 3 }, () => {
    const own = noise(rng, 0.01);
    return mapFloat32(gradient, (g, j) => 0.5 * g + push[j]! + own[j]!);
  });
  return [...attackers, ...honest];
}

const weighted = (updates: readonly Float32Array[]) => updates.map((update) => ({ update, weight: FULL }));

describe("guarded mean against a coordinated push", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`weighs a three-member push group down and keeps every honest trainer, the similar pair too (seed ${seed})`, () => {
      const updates = weighted(round(seed));
      const guard = guardUpdates(updates);
      const detail = guard.updates
        .map((u, i) => `${i}: group ${u.groupCosine.toFixed(2)} max ${u.maxDuplicateCosine.toFixed(2)}`)
        .join("; ");
      assert.equal(guard.groupBound, 0.25, detail);
      // The pair test alone accepts the attackers at full weight (each pair below the near-duplicate bound).
      const pairOnly = guardUpdates(updates, { groupPartners: 0 });
      assert.deepEqual(pairOnly.acceptedWeights.slice(0, 3), [FULL, FULL, FULL], detail);
      for (const u of guard.updates.slice(0, 3))
        assert.ok(u.maxDuplicateCosine < guard.duplicateBound, detail);
      // With the group test each attacker keeps at most half its weight.
      for (const w of guard.acceptedWeights.slice(0, 3)) assert.ok(w > 0 && w <= FULL / 2, detail);
      // Every honest trainer keeps the weight the pair test gives it (its norm share: a few below 100); the
      // similar pair points alike but has only one partner.
      assert.deepEqual(guard.acceptedWeights.slice(3), pairOnly.acceptedWeights.slice(3), detail);
      for (const w of guard.acceptedWeights.slice(3)) assert.ok(w >= 0.9 * FULL, detail);
      assert.ok(guard.updates[3]!.maxDuplicateCosine > guard.groupBound, detail);
    });
  }
});

/**
 * Sign flippers whose data resembles an honest triple's: each sends minus its honest update, and the triple
 * (same skew, own minibatch noise) forms a coordinated group. Every flipper points against the previous step
 * (the shared gradient), which makes it the stronger evidence for leaving the direction reference: when the
 * triple left it instead, the flippers voted and the median leaned their way far enough to reject the triple for
 * direction (seed 2; the mechanism of bench:robust sign-flip, Dirichlet 0.5, 30%, seed 1, rounds 4-8).
 */
function flipperRound(seed: number): { updates: Float32Array[]; step: Float32Array } {
  const rng = new Rng(seed);
  const step = mapFloat32({ length: SIZE }, (_, j) => 0.01 * Math.sin(j / 7) + 0.0025);
  const shared = noise(rng, 0.02);
  const skews = Array.from({ length: 4 }, () => noise(rng, 0.02));
  const sum = (...parts: Float32Array[]) => mapFloat32(step, (_, j) => parts.reduce((s, p) => s + p[j]!, 0));
  const triple = [0, 1, 2].map(() => sum(step, shared, noise(rng, 0.03)));
  const others = skews.map((skew) => sum(step, skew, noise(rng, 0.03)));
  const flippers = [0, 1, 2].map(() => sum(step, shared, noise(rng, 0.02), noise(rng, 0.03)).map((x) => -x));
  return { updates: [...flippers, ...triple, ...others], step };
}

describe("guarded mean: sign flippers beside an honest similar-data triple", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`rejects the flippers and keeps the triple (seed ${seed})`, () => {
      const { updates, step } = flipperRound(seed);
      const guard = guardUpdates(weighted(updates), {}, undefined, step);
      const detail = guard.updates
        .map(
          (u, i) =>
            `${i}: ${guard.acceptedWeights[i]} ${u.reasons.join("+")} group ${u.groupCosine.toFixed(2)}`,
        )
        .join("; ");
      assert.deepEqual(guard.acceptedWeights.slice(0, 3), [0, 0, 0], detail);
      for (const w of guard.acceptedWeights.slice(3, 6)) assert.ok(w >= 0.7 * FULL, detail);
      for (const w of guard.acceptedWeights.slice(6)) assert.ok(w >= 0.9 * FULL, detail);
    });
  }
});
