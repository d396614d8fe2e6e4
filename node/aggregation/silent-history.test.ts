/**
 * Silent rows across rounds (silent-history.ts). The attacker's test: three attackers split a trigger's rows among
 * themselves (no two push the same row, so the per-round silent-coordination test sees nothing) and keep each
 * update's silent energy under the per-round bound, round after round. Honest updates each reach a rare row of
 * their own, a different one each round (their top-k moves with minibatches and the model).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../core/rng.ts";
import { guardUpdates } from "./guarded-mean.ts";
import { guardedMeanTrustAggregator } from "./rules/guarded-mean-trust.ts";
import { MEASURED_PUSH_FACTOR, updateSilentDirection, updateSilentHistory } from "./silent-history.ts";
import type { DirectionRecord, SilentRecord } from "./silent-history.ts";

const ROWS = 100;
const WIDTH = 8;
const SIZE = ROWS * WIDTH;
/** Rows every trainer's top-k reaches (the digit strokes). */
const COMMON_ROWS = 40;
/** Rows honest updates reach now and then, one per update and round. */
const RARE_ROWS = [40, 90] as const;
const TRIGGER_ROWS = [91, 92, 93, 94, 95, 96, 97, 98, 99];
const GROUPS = Uint32Array.from({ length: ROWS + 1 }, (_, g) => g * WIDTH);
const HONEST = 7;
const ATTACKERS = 3;
const TRAINERS = Array.from({ length: ATTACKERS + HONEST }, (_, i) => `t${i}`);

/**
 * A sparse update: the common rows, one coordinate in `rareRow` at 1% of its energy, and `trigger` of its
 * energy spread over `triggerRows` (one coordinate each, a fixed one: a trigger moves the same weights every round).
 */
function sparseUpdate(rng: Rng, rareRow: number, triggerRows: readonly number[], trigger: number) {
  const u = new Float32Array(SIZE);
  // Whole common rows, so that no update's energy in one is several times the others' (a common row is not silent).
  for (let j = 0; j < COMMON_ROWS * WIDTH; j++) u[j] = 0.01 * (1 + Math.sin(j)) + 0.005 * rng.normal();
  let energy = 0;
  for (const x of u) energy += x * x;
  u[rareRow * WIDTH + rng.int(WIDTH)] = Math.sqrt(0.01 * energy);
  for (const g of triggerRows) u[g * WIDTH] = Math.sqrt((trigger * energy) / triggerRows.length);
  return u;
}

/** One round: attacker i pushes the trigger rows r with r mod 3 = i, at `trigger` of its energy. */
function round(rng: Rng, trigger: number) {
  // Distinct rare rows within a round: two honest updates in one rare row is the per-round coordination test's case.
  const free = Array.from({ length: RARE_ROWS[1] - RARE_ROWS[0] }, (_, k) => RARE_ROWS[0] + k);
  const rare = () => free.splice(rng.int(free.length), 1)[0]!;
  const attackers = Array.from({ length: ATTACKERS }, (_, i) =>
    sparseUpdate(
      rng,
      rare(),
      TRIGGER_ROWS.filter((_, r) => r % ATTACKERS === i),
      trigger,
    ),
  );
  const honest = Array.from({ length: HONEST }, () => sparseUpdate(rng, rare(), [], 0));
  return [...attackers, ...honest].map((update) => ({ update, weight: 100 }));
}

describe("silent rows across rounds", () => {
  // By energy alone (direction off) from round 5: the evidence builds up over the rounds the attackers return; with
  // the direction test from round 2: the trigger's values point the same way as the round before.
  for (const [seed, maxCosine, from] of [
    [1, Infinity, 5],
    [2, Infinity, 5],
    [3, Infinity, 5],
    [1, undefined, 2],
    [2, undefined, 2],
    [3, undefined, 2],
  ] as const) {
    it(`rejects attackers that split a trigger's rows and pass every round's guard, and no honest trainer (seed ${seed}, ${maxCosine === undefined ? "with" : "without"} direction)`, () => {
      const rng = new Rng(seed);
      const rule = guardedMeanTrustAggregator({
        groups: GROUPS,
        // Without direction: neither its cosine nor its sustained push (silent-history.ts `pushFactor`).
        ...(maxCosine === undefined
          ? {}
          : { silent: { maxCosine, pushFactor: Infinity, minPush: Infinity } }),
      });
      const rejectedFrom: number[] = [];
      for (let r = 1; r <= 8; r++) {
        // 0.036 of their energy in the trigger: under the per-round silent bound (0.12 here) and its half, where the
        // coordination test starts to look.
        const updates = round(rng, 0.036);
        const perRound = guardUpdates(updates, {}, GROUPS);
        assert.ok(
          perRound.rejected.every((x) => !x),
          `round ${r}: ${perRound.updates.map((u) => u.reasons.join("+")).join(" ")}`,
        );
        const { acceptedWeights, reasons } = rule.aggregate(updates, { trainers: TRAINERS, round: r });
        const rejected = acceptedWeights.map((w) => w === 0);
        for (let i = ATTACKERS; i < TRAINERS.length; i++)
          assert.equal(rejected[i], false, `round ${r}, honest ${i}: ${reasons?.[i]?.join("+")}`);
        if (rejected.slice(0, ATTACKERS).every(Boolean)) rejectedFrom.push(r);
      }
      assert.deepEqual(
        rejectedFrom,
        Array.from({ length: 9 - from }, (_, k) => from + k),
      );
    });
  }

  // The adaptive answer to the direction test (touched-row-backdoor held its cosine at 0.32-0.35 under the 0.35 bound in
  // bench:robust): each attacker adds energy in other rare rows, fresh each round, so its silent part's cosine with its
  // own past falls under the bound while its push along the trigger stays whole. Its sustained push does not shrink.
  // Scored on the statistic itself (updateSilentDirection), with silent parts given: honest trainers reach one or two
  // rare rows a round with minibatch-noise signs (measured: honest silent-direction cosines at most 0.13 from round 4,
  // bench:robust --log --evidence).
  for (const seed of [1, 2, 3]) {
    it(`rejects attackers that dilute their silent direction with fresh rows, by their sustained push (seed ${seed})`, () => {
      const rng = new Rng(seed);
      const sign = () => (rng.int(2) === 0 ? -1 : 1);
      let records = new Map<string, DirectionRecord>();
      let caughtByCosine = 0;
      for (let r = 1; r <= 8; r++) {
        const updates: Float32Array[] = [];
        const silentRows: Map<number, number>[] = [];
        for (let i = 0; i < TRAINERS.length; i++) {
          const u = new Float32Array(SIZE);
          // The common part: energy 1, the typical update.
          for (let j = 0; j < COMMON_ROWS * WIDTH; j++) u[j] = Math.sqrt(1 / (COMMON_ROWS * WIDTH));
          const silent = new Map<number, number>();
          const put = (g: number, j: number, energy: number, s: number) => {
            u[g * WIDTH + j] = s * Math.sqrt(energy);
            silent.set(g, (silent.get(g) ?? 0) + energy);
          };
          if (i < ATTACKERS) {
            // 0.02 in its trigger rows, the same values every round; 0.2 over 20 rare rows of its own slice, fresh
            // signs (in the bench the per-round silent bound was 0.45-0.64 of the typical energy).
            const own = TRIGGER_ROWS.filter((_, k) => k % ATTACKERS === i);
            for (const g of own) put(g, 0, 0.02 / own.length, 1);
            for (let k = 0; k < 20; k++)
              put(RARE_ROWS[0] + 16 * i + rng.int(16), rng.int(WIDTH), 0.01, sign());
          } else
            // 0.1 over 10 rare rows, minibatch-noise signs (honest silent parts: 0.02-0.25 of the typical energy).
            for (let k = 0; k < 10; k++) put(RARE_ROWS[0] + rng.int(50), rng.int(WIDTH), 0.01, sign());
          updates.push(u);
          silentRows.push(silent);
        }
        const scored = updateSilentDirection(records, TRAINERS, updates, GROUPS, silentRows, r, {
          pushFactor: MEASURED_PUSH_FACTOR,
        });
        records = scored.records;
        for (let i = 0; i < TRAINERS.length; i++) {
          const who = `round ${r}, ${i < ATTACKERS ? "attacker" : "honest"} ${i}: cosine ${scored.cosines[i]!.toFixed(2)}, push ${scored.pushes[i]!.toFixed(3)} (bound ${scored.pushBound.toFixed(3)})`;
          if (i >= ATTACKERS) assert.ok(!scored.over[i] && !scored.pushed[i], who);
          else {
            if (scored.over[i]) caughtByCosine++;
            // From its third round: two rounds of memory (in its second the push is about the floor).
            if (r !== 2) assert.equal(scored.pushed[i], r >= 3, who);
          }
        }
      }
      // The cosine test alone misses the diluted attackers in most of their 24 updates.
      assert.ok(caughtByCosine <= 4, `the cosine test caught ${caughtByCosine}`);
    });
  }

  it("rejects no honest trainer whose rare rows move for its history or direction, over 16 rounds without attackers", () => {
    for (const seed of [4, 5, 6]) {
      const rng = new Rng(seed);
      const rule = guardedMeanTrustAggregator({ groups: GROUPS });
      for (let r = 1; r <= 16; r++) {
        const { reasons } = rule.aggregate(round(rng, 0), { trainers: TRAINERS, round: r });
        // Only this test's reason: the toy's honest updates now and then trip the per-round coordination test.
        assert.ok(
          reasons?.every((x) => !x.includes("silent-history") && !x.includes("silent-direction")),
          `seed ${seed} round ${r}: ${reasons?.map((x) => x.join("+")).join(" ")}`,
        );
      }
    }
  });

  it("keeps no history of a what-if query (record: false), so an attacker probing the bound does not raise it", () => {
    const rng = new Rng(7);
    const rounds = Array.from({ length: 6 }, () => round(rng, 0.036));
    const decide = (probe: boolean) => {
      const rule = guardedMeanTrustAggregator({ groups: GROUPS });
      return rounds.map((updates, r) => {
        // Probes with twice the trigger first, as the adaptive attacks' bisection does.
        if (probe)
          rule.aggregate(round(new Rng(r), 0.072), { trainers: TRAINERS, round: r + 1, record: false });
        return rule.aggregate(updates, { trainers: TRAINERS, round: r + 1 }).acceptedWeights;
      });
    };
    assert.deepEqual(decide(true), decide(false));
  });

  it("counts only energy that returns to the trainer's own rows, decayed per round", () => {
    const rows = (entries: [number, number][]) => new Map(entries);
    let records = new Map<string, SilentRecord>();
    const first = updateSilentHistory(records, ["a", "b"], [rows([[1, 0.2]]), rows([[2, 0.2]])], 1, {
      minUpdates: 0,
    });
    assert.deepEqual(first.recurrent, [0, 0]);
    records = first.records;
    // a returns to row 1 (memory 0.2, halved: 0.1); b moves to row 3.
    const second = updateSilentHistory(records, ["a", "b"], [rows([[1, 0.3]]), rows([[3, 0.2]])], 2, {
      minUpdates: 0,
    });
    assert.deepEqual(second.recurrent, [0.1, 0]);
    assert.deepEqual(second.evidence, [0.1, 0]);
    // Two rounds later a is back in row 1 again: memory (0.1 + 0.3) / 4, evidence 0.1 / 4 + 0.1.
    const fourth = updateSilentHistory(second.records, ["a"], [rows([[1, 0.3]])], 4, { minUpdates: 0 });
    assert.ok(Math.abs(fourth.recurrent[0]! - 0.1) < 1e-12);
    assert.ok(Math.abs(fourth.evidence[0]! - 0.125) < 1e-12);
    // b, not seen for 16 rounds, is forgotten.
    const later = updateSilentHistory(fourth.records, ["a"], [rows([])], 20, { minUpdates: 0 });
    assert.equal(later.records.has("b"), false);
  });
});

/**
 * The aggregator duty rotates over the task's nodes (one round each here, three nodes): a node screens a trainer
 * only in the rounds it aggregates, and folds the others from their public outcome. The attacker's test: the same
 * split-trigger attackers as above must be rejected from the same round as under one aggregator, which needs every
 * node to fold the silent memories from the revealed updates of the rounds it did not aggregate.
 */
describe("silent memories under a rotating aggregator", () => {
  const NODES = 3;
  /** Per round, which updates got weight 0: one aggregator, or `NODES` taking turns (`revealed`: folding updates). */
  function rejections(
    rounds: readonly { update: Float32Array; weight: number }[][],
    nodes: number,
    revealed: boolean,
  ) {
    const rules = Array.from({ length: nodes }, () => guardedMeanTrustAggregator({ groups: GROUPS }));
    return rounds.map((updates, r) => {
      const turn = r % nodes;
      const { acceptedWeights } = rules[turn]!.aggregate(updates, { trainers: TRAINERS, round: r + 1 });
      rules.forEach((rule, k) => {
        if (k === turn) return;
        rule.observeOutcome?.({
          round: r + 1,
          trainers: TRAINERS,
          weights: acceptedWeights,
          ...(revealed ? { updates: updates.map((u) => u.update) } : {}),
        });
      });
      return acceptedWeights.map((w) => w === 0);
    });
  }

  for (const seed of [1, 2, 3]) {
    it(`rejects the attackers from round 2 as one aggregator does, folding revealed rounds (seed ${seed})`, () => {
      const rng = new Rng(seed);
      const rounds = Array.from({ length: 8 }, () => round(rng, 0.036));
      const single = rejections(rounds, 1, true);
      const rotating = rejections(rounds, NODES, true);
      assert.deepEqual(rotating, single);
      for (const [r, rejected] of rotating.entries()) {
        assert.deepEqual(rejected.slice(ATTACKERS), new Array(HONEST).fill(false), `round ${r + 1}`);
        assert.equal(rejected.slice(0, ATTACKERS).every(Boolean), r >= 1, `round ${r + 1}`);
      }
      // Before: folding only the posted weights, each node's memories start over at its own turns.
      const weightsOnly = rejections(rounds, NODES, false);
      assert.ok(
        weightsOnly.slice(1, NODES).some((rejected) => !rejected.slice(0, ATTACKERS).every(Boolean)),
        "the attackers were rejected without the revealed rounds",
      );
    });
  }

  it("folds nothing from a malformed or repeated revealed round", () => {
    const rng = new Rng(9);
    const [first, second] = [round(rng, 0.036), round(rng, 0.036)];
    const rule = guardedMeanTrustAggregator({ groups: GROUPS });
    const outcome = (r: number, updates: readonly (Float32Array | undefined)[]) => ({
      round: r,
      trainers: TRAINERS,
      weights: TRAINERS.map(() => 1),
      updates,
    });
    const bad = first!.map((u) => u.update);
    bad[4] = new Float32Array(3);
    rule.observeOutcome?.(outcome(1, bad));
    rule.observeOutcome?.(outcome(1, [Float32Array.of(NaN, ...new Float32Array(SIZE - 1))]));
    const fresh = guardedMeanTrustAggregator({ groups: GROUPS });
    const context = { trainers: TRAINERS, round: 2 };
    assert.deepEqual(
      rule.aggregate(second!, context).acceptedWeights,
      fresh.aggregate(second!, context).acceptedWeights,
    );
  });
});
