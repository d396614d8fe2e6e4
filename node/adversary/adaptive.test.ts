import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../core/rng.ts";
import { craftAgainstRule, harmDirection } from "./adaptive.ts";
import { adaptiveBackdoorAttack } from "./adaptive-backdoor.ts";
import { norm } from "./update-attack.ts";
import type { AttackRound } from "./update-attack.ts";
import { mapFloat32 } from "../core/vectors.ts";

const SIZE = 200;

function honestUpdates(rng: Rng, count: number): Float32Array[] {
  return Array.from({ length: count }, () =>
    mapFloat32({ length: SIZE }, (_, j) => 0.01 * Math.sin(j) + 0.006 * rng.normal()),
  );
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  for (let j = 0; j < a.length; j++) ab += a[j]! * b[j]!;
  return ab / (norm(a) * norm(b));
}

/** A toy rule: accepts updates up to `maxNorm`, rejects pairs of candidates whose cosine is above `dup`. */
function toyRule(maxNorm: number, dup: number, f: number) {
  return (candidates: readonly Float32Array[], honest: readonly Float32Array[]): number[] => {
    const all = [...candidates, ...honest];
    return all.map((u, i) => {
      if (norm(u) > maxNorm) return 0;
      if (i < f && candidates.some((c, k) => k !== i && cosine(c, u) > dup)) return 0;
      return 1;
    });
  };
}

describe("the adaptive attack (search against the rule's own decision)", () => {
  it("adds per-attacker noise to pass a near-duplicate test, and pushes to the edge of the norm bound", () => {
    const rng = new Rng(3);
    const honest = honestUpdates(rng, 7);
    const own = honestUpdates(rng, 3);
    const median = [...honest.map(norm)].sort((a, b) => a - b)[3]!;
    const rule = toyRule(2 * median, 0.9, 3);
    const round: AttackRound = { round: 1, own, honest, n: 10, f: 3, seed: 1 };
    const direction = harmDirection(round, "inverse-mean");
    const sent = craftAgainstRule({ ...round, weigh: (c) => rule(c, honest) }, direction);
    assert.equal(sent.length, 3);
    const weights = rule(sent, honest);
    assert.deepEqual(weights.slice(0, 3), [1, 1, 1], "every attacker passes");
    for (const [i, s] of sent.entries()) {
      assert.ok(norm(s) > 1.5 * median, `attacker ${i} pushes near the norm bound: ${norm(s) / median}`);
      for (const t of sent.slice(i + 1)) assert.ok(cosine(s, t) <= 0.9);
      // The push points against the honest mean.
      let along = 0;
      for (let j = 0; j < SIZE; j++) along += s[j]! * direction[j]!;
      assert.ok(along > 0, `attacker ${i} moves along the direction of harm`);
    }
  });

  it("without the rule's decision sends the mean plus one median norm along the direction", () => {
    const rng = new Rng(5);
    const honest = honestUpdates(rng, 7);
    const round: AttackRound = { round: 2, own: honestUpdates(rng, 2), honest, n: 9, f: 2, seed: 1 };
    const sent = craftAgainstRule(round, harmDirection(round, "inverse-mean"));
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[0], sent[1]);
  });
});

describe("the adaptive backdoor (tunes its push into silent coordinates to the rule's bound)", () => {
  /** Honest updates that never move the last SILENT coordinates; the attackers' own updates do. */
  const SILENT = 20;
  const silentEnergy = (u: Float32Array) => {
    let e = 0;
    for (let j = SIZE - SILENT; j < SIZE; j++) e += u[j]! ** 2;
    return e;
  };

  it("sends as much trigger energy as the rule accepts, not what it trained", () => {
    const rng = new Rng(7);
    const honest = honestUpdates(rng, 7).map((u) => u.map((x, j) => (j >= SIZE - SILENT ? 0 : x)));
    const own = honestUpdates(rng, 3).map((u) => u.map((x, j) => (j >= SIZE - SILENT ? x + 0.02 : x)));
    const typical = [...honest.map((u) => norm(u) ** 2)].sort((a, b) => a - b)[3]!;
    // A silent-coordinate test: at most 1% of the typical energy where the honest majority is silent.
    const bound = 0.01 * typical;
    const rule = (candidates: readonly Float32Array[]) => [
      ...candidates.map((c) => (silentEnergy(c) <= bound ? 1 : 0)),
      ...honest.map(() => 1),
    ];
    const round: AttackRound = { round: 1, own, honest, n: 10, f: 3, seed: 1 };
    assert.ok(
      own.every((u) => silentEnergy(u) > bound),
      "the plain backdoor would be rejected",
    );
    const sent = adaptiveBackdoorAttack.craft({ ...round, weigh: rule });
    assert.deepEqual(rule(sent).slice(0, 3), [1, 1, 1], "every attacker passes");
    for (const s of sent)
      assert.ok(silentEnergy(s) > 0.9 * bound, `silent energy ${silentEnergy(s) / bound} of the bound`);
    assert.deepEqual(adaptiveBackdoorAttack.craft(round).length, 3, "blind: the plain backdoor");
  });
});
