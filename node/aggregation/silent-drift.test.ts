/**
 * The model-drift test (silent-drift.ts, the bench-only `guarded-mean-drift`). The attacker's test: a trigger handed
 * from one set of identities to another (sybils that each push once, so no per-trainer memory has a past for them).
 * Every per-trainer silent memory of the node's rule starts empty for the new identities; the model's drift in the
 * trigger rows does not, so the second set is rejected there, and no honest trainer is.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../core/rng.ts";
import { guardedMeanTrustAggregator } from "./rules/guarded-mean-trust.ts";
import { MEASURED_DRIFT_COSINE } from "./rules/guarded-mean-drift.ts";
import { addDrift, scoreSilentDrift } from "./silent-drift.ts";

const ROWS = 100;
const WIDTH = 8;
const SIZE = ROWS * WIDTH;
const COMMON_ROWS = 40;
const RARE_FIRST = 40;
const RARE_LAST = 90;
const TRIGGER_ROWS = [91, 92, 93, 94, 95, 96, 97, 98, 99];
const GROUPS = Uint32Array.from({ length: ROWS + 1 }, (_, g) => g * WIDTH);
const HONEST = 7;
const ATTACKERS = 3;

/** The common rows, one rare coordinate at 1% of the energy, and `trigger` of it over `triggerRows` (fixed values). */
function sparseUpdate(rng: Rng, rareRow: number, triggerRows: readonly number[], trigger: number) {
  const u = new Float32Array(SIZE);
  for (let j = 0; j < COMMON_ROWS * WIDTH; j++) u[j] = 0.01 * (1 + Math.sin(j)) + 0.005 * rng.normal();
  let energy = 0;
  for (const x of u) energy += x * x;
  u[rareRow * WIDTH + rng.int(WIDTH)] = Math.sqrt(0.01 * energy);
  for (const g of triggerRows)
    for (let j = 0; j < WIDTH; j++)
      u[g * WIDTH + j] =
        Math.sqrt((trigger * energy) / (triggerRows.length * WIDTH)) * (j % 2 === 0 ? 1 : -1);
  return u;
}

/** One round: the attackers split the trigger's rows (no two push one row), the honest reach a rare row each. */
function round(rng: Rng, trigger: number) {
  const free = Array.from({ length: RARE_LAST - RARE_FIRST }, (_, k) => RARE_FIRST + k);
  const rare = () => free.splice(rng.int(free.length), 1)[0]!;
  const attackers = Array.from({ length: ATTACKERS }, (_, i) =>
    sparseUpdate(
      rng,
      rare(),
      TRIGGER_ROWS.filter((_, k) => k % ATTACKERS === i),
      trigger,
    ),
  );
  const honest = Array.from({ length: HONEST }, () => sparseUpdate(rng, rare(), [], 0));
  return [...attackers, ...honest].map((update) => ({ update, weight: 100 }));
}

describe("silent rows against the model's drift", () => {
  for (const seed of [1, 2, 3])
    it(`rejects fresh identities pushing a trigger the model already moved in, where the node's rule accepts them (seed ${seed})`, () => {
      const decide = (maxCosine: number) => {
        const rng = new Rng(seed);
        const rule = guardedMeanTrustAggregator({ groups: GROUPS, drift: { maxCosine } });
        const honest = Array.from({ length: HONEST }, (_, i) => `h${i}`);
        // Each round a new set of three identities pushes the trigger (0.03 of its energy, under the silent bound).
        return Array.from({ length: 4 }, (_, r) => {
          const trainers = [...Array.from({ length: ATTACKERS }, (__, i) => `sybil-${r}-${i}`), ...honest];
          const { acceptedWeights, reasons } = rule.aggregate(round(rng, 0.03), { trainers, round: r + 1 });
          return acceptedWeights.map((w, i) => (w > 0 ? "ok" : (reasons?.[i] ?? []).join("+")));
        });
      };
      const plain = decide(Infinity);
      const drift = decide(MEASURED_DRIFT_COSINE);
      for (const [r, weights] of plain.entries())
        assert.deepEqual(weights, new Array(ATTACKERS + HONEST).fill("ok"), `node's rule, round ${r + 1}`);
      assert.deepEqual(drift[0], new Array(ATTACKERS + HONEST).fill("ok"));
      for (const [r, weights] of drift.entries()) {
        if (r === 0) continue;
        assert.deepEqual(
          weights.slice(0, ATTACKERS),
          new Array(ATTACKERS).fill("silent-drift"),
          `round ${r + 1}`,
        );
        assert.deepEqual(weights.slice(ATTACKERS), new Array(HONEST).fill("ok"), `round ${r + 1}`);
      }
    });

  it("weighs each silent row's cosine by the update's energy there, and keeps the drift as the sum of the steps", () => {
    const groups = Uint32Array.of(0, 2, 4);
    const drift = addDrift(addDrift(undefined, Float32Array.of(1, 0, 0, 1)), Float32Array.of(1, 0, 0, 1));
    assert.deepEqual([...drift], [2, 0, 0, 2]);
    // Row 0 along the drift (cosine 1, energy 1), row 1 across it (cosine 0, energy 3): weighted 1/4.
    const u = Float32Array.of(1, 0, Math.sqrt(3), 0);
    const scored = scoreSilentDrift(
      drift,
      [u],
      groups,
      [
        new Map([
          [0, 0.1],
          [1, 0.3],
        ]),
      ],
      4,
    );
    assert.ok(Math.abs(scored.rowCosines[0]! - 0.25) < 1e-6);
    // Along: row 0's energy 1 × cosine² 1, over the typical energy 4.
    assert.ok(Math.abs(scored.along[0]! - 0.25) < 1e-6);
  });
});
