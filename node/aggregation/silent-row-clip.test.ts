/**
 * Per-row clipping of silent rows (silent-row-clip.ts, the bench-only `guarded-mean-row-clip`). The attacker's test:
 * three attackers push a trigger's rows in three parts, one part a round in turn, split among themselves, at a share
 * of their energy under the per-round silent bound; honest updates each reach one rare row of their own a round. The
 * node's rule (per-trainer memories, halved per round) lets the model's drift in the trigger rows add up over the
 * rounds; with the clip it stays 0, and the honest rows move as without it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../core/rng.ts";
import { guardedMeanTrustAggregator } from "./rules/guarded-mean-trust.ts";
import { clipSilentRows } from "./silent-row-clip.ts";
import { ROW_CLIP_FACTOR } from "./rules/guarded-mean-row-clip.ts";

const ROWS = 100;
const WIDTH = 8;
const SIZE = ROWS * WIDTH;
const COMMON_ROWS = 40;
const RARE_FIRST = 40;
const RARE_LAST = 90;
const TRIGGER_ROWS = [91, 92, 93, 94, 95, 96, 97, 98, 99];
const PARTS = 3;
const GROUPS = Uint32Array.from({ length: ROWS + 1 }, (_, g) => g * WIDTH);
const HONEST = 7;
const ATTACKERS = 3;
const TRAINERS = Array.from({ length: ATTACKERS + HONEST }, (_, i) => `t${i}`);
/** t for 10 updates at the default Byzantine fraction 0.3. */
const TRIM = 3;
/**
 * Fresh rare coordinates each attacker adds per round: with 6 the attackers keep full weight under the node's rule in
 * 21-23 of their 27 updates on seeds 1-3 (with 0 in 9, every one rejected from round 4 for silent-direction).
 */
const DILUTE = 6;

/**
 * The common rows, one rare coordinate at 1% of the energy, `trigger` of it over `triggerRows` (fixed values), and
 * `dilute` more rare coordinates at 1% each with random signs (an attacker's answer to the silent-direction test).
 */
function sparseUpdate(
  rng: Rng,
  rareRow: number,
  triggerRows: readonly number[],
  trigger: number,
  dilute = 0,
) {
  const u = new Float32Array(SIZE);
  for (let j = 0; j < COMMON_ROWS * WIDTH; j++) u[j] = 0.01 * (1 + Math.sin(j)) + 0.005 * rng.normal();
  let energy = 0;
  for (const x of u) energy += x * x;
  u[rareRow * WIDTH + rng.int(WIDTH)] = Math.sqrt(0.01 * energy);
  for (const g of triggerRows) u[g * WIDTH] = Math.sqrt((trigger * energy) / triggerRows.length);
  for (let k = 0; k < dilute; k++)
    u[(RARE_FIRST + rng.int(RARE_LAST - RARE_FIRST)) * WIDTH + rng.int(WIDTH)] =
      (rng.int(2) === 0 ? -1 : 1) * Math.sqrt(0.01 * energy);
  return u;
}

/** Round r: the trigger's part (k + r) mod 3 = 0 is pushed, its rows split among the attackers. */
function rotatingRound(rng: Rng, r: number, trigger: number) {
  const free = Array.from({ length: RARE_LAST - RARE_FIRST }, (_, k) => RARE_FIRST + k);
  const rare = () => free.splice(rng.int(free.length), 1)[0]!;
  const active = TRIGGER_ROWS.filter((_, k) => (k + r) % PARTS === 0);
  const attackers = Array.from({ length: ATTACKERS }, (_, i) =>
    sparseUpdate(
      rng,
      rare(),
      active.filter((_, k) => k % ATTACKERS === i),
      trigger,
      DILUTE,
    ),
  );
  const honest = Array.from({ length: HONEST }, () => sparseUpdate(rng, rare(), [], 0));
  return [...attackers, ...honest].map((update) => ({ update, weight: 100 }));
}

const energyIn = (v: Float32Array, rows: readonly number[]) =>
  rows.reduce((e, g) => {
    for (let j = GROUPS[g]!; j < GROUPS[g + 1]!; j++) e += v[j]! ** 2;
    return e;
  }, 0);

describe("per-row clipping of silent rows", () => {
  for (const seed of [1, 2, 3])
    it(`keeps a rotating trigger's rows still where the node's rule lets them drift (seed ${seed})`, () => {
      const run = (rowClip: number | undefined) => {
        const rng = new Rng(seed);
        const rule = guardedMeanTrustAggregator({
          groups: GROUPS,
          ...(rowClip === undefined ? {} : { rowClip }),
        });
        const drift = new Float32Array(SIZE);
        const accepted: number[] = [];
        for (let r = 1; r <= 9; r++) {
          const { aggregate, acceptedWeights } = rule.aggregate(rotatingRound(rng, r, 0.036), {
            trainers: TRAINERS,
            round: r,
          });
          accepted.push(acceptedWeights.slice(0, ATTACKERS).filter((w) => w > 1).length);
          for (let j = 0; j < SIZE; j++) drift[j]! += aggregate[j]!;
        }
        return { drift, accepted };
      };
      const plain = run(undefined);
      const clipped = run(ROW_CLIP_FACTOR);
      // The rotation passes the node's rule: attackers keep full weight in most rounds, and the trigger rows drift.
      assert.ok(
        plain.accepted.reduce((a, b) => a + b, 0) >= 18,
        `attackers accepted ${plain.accepted.join(",")}`,
      );
      assert.ok(energyIn(plain.drift, TRIGGER_ROWS) > 0, "the trigger rows drift under the node's rule");
      assert.equal(energyIn(clipped.drift, TRIGGER_ROWS), 0);
      // The common rows: each of the ten updates moves them with similar energies, so the cut leaves them nearly
      // whole.
      const common = Array.from({ length: COMMON_ROWS }, (_, g) => g);
      const ratio = energyIn(clipped.drift, common) / energyIn(plain.drift, common);
      assert.ok(ratio > 0.9 && ratio <= 1.0001, `common-row drift ratio ${ratio.toFixed(3)}`);
    });

  it("cuts a row touched by one honest update and three attackers to the (t + 1)-th largest energy", () => {
    // Row 1: the honest update 3 at 1, attackers 0-2 at 3, 4, 5, nobody else. Row 0 pads every update to energy 30,
    // so all are judged at their own length, and no update's row-0 energy is above the fourth largest there (30).
    const push = [3, 4, 5, 1];
    const rows = Array.from({ length: 10 }, (_, i) => {
      const r = new Float32Array(2 * WIDTH);
      r[WIDTH] = push[i] ?? 0;
      r[0] = Math.sqrt(30 - r[WIDTH] ** 2);
      return r;
    });
    const out = clipSilentRows(rows, Uint32Array.of(0, WIDTH, 2 * WIDTH), TRIM, 1);
    // The 4th largest energy in row 1 is the honest update's, 1: every attacker is cut to it.
    assert.deepEqual(
      out.map((r) => r[WIDTH]),
      [1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
    );
    assert.deepEqual(
      out.map((r) => r[0]),
      rows.map((r) => r[0]),
    );
  });
});
