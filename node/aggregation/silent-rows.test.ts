/**
 * The silent-row evidence on sparse (top-k-like) updates: attackers whose trigger rows one honest update also
 * touches, so the rows are not "at most t touch" (touched-row-backdoor's hole), are caught by the row reference and
 * the silent-coordination test; honest updates, each with a rare row of its own, are not.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../core/rng.ts";
import { GUARDED_MEAN_DEFAULTS, guardUpdates } from "./index.ts";
import { revealedSilentRows } from "./silent-rows.ts";

const ROWS = 100;
const WIDTH = 8;
const SIZE = ROWS * WIDTH;
/** Rows every trainer's top-k reaches (the digit strokes). */
const COMMON_ROWS = 40;
const TRIGGER_ROWS = [90, 91, 92];
const GROUPS = Uint32Array.from({ length: ROWS + 1 }, (_, g) => g * WIDTH);
const HONEST = 7;
const ATTACKERS = 3;

/**
 * A sparse update: two coordinates in each common row (a shared signal plus noise), one coordinate in a rare row
 * of its own at a small share of its energy, and `trigger` of its energy spread over the trigger rows.
 */
function sparseUpdate(rng: Rng, rareRow: number, trigger: number): Float32Array {
  const u = new Float32Array(SIZE);
  for (let g = 0; g < COMMON_ROWS; g++)
    for (let k = 0; k < 2; k++) {
      const j = g * WIDTH + rng.int(WIDTH);
      u[j] = 0.01 * (1 + Math.sin(j)) + 0.005 * rng.normal();
    }
  let energy = 0;
  for (const x of u) energy += x * x;
  u[rareRow * WIDTH + rng.int(WIDTH)] = Math.sqrt(0.01 * energy);
  const perCoordinate = Math.sqrt((trigger * energy) / (TRIGGER_ROWS.length * WIDTH));
  for (const g of TRIGGER_ROWS)
    for (let j = 0; j < WIDTH; j++) u[g * WIDTH + j] = perCoordinate * (1 + 0.1 * rng.normal());
  return u;
}

function round(seed: number, trigger: number) {
  const rng = new Rng(seed);
  const attackers = Array.from({ length: ATTACKERS }, (_, i) => sparseUpdate(rng, 50 + i, trigger));
  const honest = Array.from({ length: HONEST }, (_, i) => sparseUpdate(rng, 60 + i, 0));
  // One honest update reaches a trigger row: with the attackers, four of ten touch it, more than t = 3.
  honest[0]![TRIGGER_ROWS[0]! * WIDTH] = 0.002;
  return [...attackers, ...honest].map((update) => ({ update, weight: 100 }));
}

const OLD_RULE = { silentRowFactor: Infinity, silentGroupCosine: Infinity };

describe("silent rows on sparse updates", () => {
  for (const seed of [1, 2, 3]) {
    it(`rejects three attackers sharing trigger rows one honest update touches, and no honest one (seed ${seed})`, () => {
      // 0.08 of their energy in the trigger: above half the silent bound, under the bound itself.
      const result = guardUpdates(round(seed, 0.08), {}, GROUPS);
      const reasons = result.updates.map((u) => u.reasons.join("+"));
      assert.deepEqual(
        result.rejected,
        [...new Array<boolean>(ATTACKERS).fill(true), ...new Array<boolean>(HONEST).fill(false)],
        reasons.join(" "),
      );
      for (let i = 0; i < ATTACKERS; i++) assert.ok(reasons[i]!.includes("silent-coordinated"), reasons[i]);
      // Before: the trigger rows were not silent (four touch them), and every attacker passed.
      const before = guardUpdates(round(seed, 0.08), OLD_RULE, GROUPS);
      assert.ok(
        before.rejected.every((r) => !r),
        before.updates.map((u) => u.reasons.join("+")).join(" "),
      );
    });
  }

  it("takes no honest update for coordinated when none pushes a trigger", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const result = guardUpdates(round(seed, 0), {}, GROUPS);
      assert.ok(
        result.rejected.every((r) => !r),
        result.updates.map((u) => u.reasons.join("+")).join(" "),
      );
    }
  });

  it("recomputes the guard's silent parts from the updates alone, whatever the counts, trust and previous step", () => {
    for (const seed of [1, 2, 3]) {
      const updates = round(seed, 0.08).map((u, i) => ({ ...u, weight: 10 + 97 * i }));
      const history = round(seed + 10, 0)[5]!.update;
      const guard = guardUpdates(updates, {}, GROUPS, history, [4, 2]);
      const { byzantineFraction, silentRowFactor } = GUARDED_MEAN_DEFAULTS;
      const revealed = revealedSilentRows(
        updates.map((u) => u.update),
        GROUPS,
        byzantineFraction,
        silentRowFactor,
      );
      assert.deepEqual(revealed, guard.silentRows);
      assert.ok(revealed.slice(0, ATTACKERS).every((r) => r.size > 0));
    }
  });
});
