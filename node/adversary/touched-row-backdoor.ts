/**
 * The touched-row backdoor: a backdoor whose trigger sits in input rows that honest *compressed* updates touch
 * rarely but not never, aimed at the guarded mean's silent test on top-k updates (issue #20).
 *
 * The guarded mean counts an input row as silent when at most t updates (t = its assumed Byzantine count) touch
 * it at all (node/aggregation/guarded-mean.ts, `silentGroupEnergy`). On top-k updates an honest trainer now and
 * then sends a coordinate in a row near the digit strokes; with the f attackers also in that row the count is
 * f + 1 > t, the row is no longer silent, and a coordinate only the attackers send has a trimmed range of [0, 0],
 * which the per-coordinate bounds skip. So the attacker (omniscient: it sees the round's honest updates):
 * - places its trigger on the pixels inked least often among those whose rows honest compressed updates do
 *   touch (`minTriggerFrequency`, its calibration of the compressor), and trains on trigger-stamped copies as
 *   backdoor.ts does;
 * - each round, in the trigger rows enough honest updates touch to lift the count above t, sends its trained
 *   values scaled by β, the largest the rule's own decision accepts; in the other trigger rows (silent this
 *   round) γ times them, the largest accepted (adaptive-backdoor.ts's push under the silent bound); then keeps
 *   the whole update's norm at most the honest median, as the norm-bounded backdoor does;
 * - tries that with every attacker pushing every trigger row, and with the rows split among the attackers (no
 *   two push the same row), and sends whichever moves the trigger rows further with the weights the rule gives.
 * Without the rule's decision it is the plain backdoor with this trigger.
 */
import type { Dataset } from "../training/data/dataset.ts";
import { GUARDED_MEAN_DEFAULTS } from "../aggregation/guarded-mean-defaults.ts";
import { ADAPTIVE_BACKOFF } from "./adaptive.ts";
import { largestAcceptedGamma } from "./adaptive-backdoor.ts";
import { BACKDOOR_PATCH_SIDE, backdoorAttack, poisonWithTrigger, triggeredTestSet } from "./backdoor.ts";
import { medianNorm, withNormAtMost } from "./update-attack.ts";
import type { UpdateAttack } from "./update-attack.ts";

/** Pixels in the trigger: as many as the corner patch (backdoor.ts). */
export const TOUCHED_TRIGGER_PIXELS = BACKDOOR_PATCH_SIDE ** 2;

/**
 * The least share of training images that ink a trigger pixel, by the median density of the round's updates:
 * the attacker's calibration of which input rows honest compressed updates touch. Measured on bench:robust's
 * setting (MLP 784-64-10, 10 IID trainers, rounds 2-5, share of pixels whose row at least one of seven honest
 * updates touched): top-k 0.65% 4-bit (the node's default) never below 3% ink, 2-30% of rounds at 3-10%,
 * 51-88% at 10-30%; top-k 5% float32 never below 0.1%, 0-33% at 0.3-1%, 12-81% at 1-3%, 71-100% at 3-10%.
 * Dense updates are judged per coordinate, where any pixel an honest shard inks at all is not silent.
 */
export function minTriggerFrequency(density: number): number {
  if (density >= 0.5) return 0.001;
  if (density >= 0.02) return 0.01;
  return 0.1;
}

/** The `count` pixels inked least often in `data`, among those inked in at least `minFrequency` of its images. */
export function rarelyInkedPixels(data: Dataset, minFrequency: number, count: number): number[] {
  const inked = new Float64Array(data.featureSize);
  for (let i = 0; i < data.count; i++)
    for (let p = 0; p < data.featureSize; p++) if (data.features[i * data.featureSize + p]! > 0) inked[p]!++;
  return [...inked.keys()]
    .filter((p) => inked[p]! >= minFrequency * data.count)
    .sort((a, b) => inked[a]! - inked[b]! || a - b)
    .slice(0, count)
    .sort((a, b) => a - b);
}

/** One simulation's touched-row backdoor: its trigger is fixed by the first attacker's data. */
export interface TouchedRowBackdoor {
  poisonData(data: Dataset): Dataset;
  /** Test images of other classes carrying this attack's trigger, labelled with the target. */
  triggered(test: Dataset): Dataset;
  readonly updates: UpdateAttack;
}

/** How a touched-row backdoor lays out its trigger over rounds (rotating-trigger-backdoor.ts). */
export interface TriggerLayout {
  readonly name: string;
  /** Pixels in the trigger (stamped whole on the poisoned training copies and on the triggered test images). */
  readonly pixels: number;
  /**
   * The trigger's rows are pushed in this many disjoint parts, one part a round in turn (trigger pixel k, in pixel
   * order, in round r when (k + r) mod parts = 0); the other trigger rows are sent as 0 that round. 1: every row
   * every round.
   */
  readonly parts: number;
}

/** The touched-row backdoor's own layout: one corner-patch-sized trigger, every row every round. */
export const TOUCHED_ROW_LAYOUT: TriggerLayout = {
  name: "touched-row-backdoor",
  pixels: TOUCHED_TRIGGER_PIXELS,
  parts: 1,
};

/** A fresh attack for rounds whose updates have median density `density` (1: dense). */
export function touchedRowBackdoor(density: number, layout = TOUCHED_ROW_LAYOUT): TouchedRowBackdoor {
  let trigger: number[] | undefined;
  const pixels = (data: Dataset) =>
    (trigger ??= rarelyInkedPixels(data, minTriggerFrequency(density), layout.pixels));
  const updates: UpdateAttack = {
    name: layout.name,
    craft: (round) => {
      const { own, honest, weigh, groups, n } = round;
      if (weigh === undefined || groups === undefined || trigger === undefined || honest.length === 0)
        return backdoorAttack.craft(round);
      const f = own.length;
      const source = round.ownRaw ?? own;
      const trim = Math.min(Math.floor(GUARDED_MEAN_DEFAULTS.byzantineFraction * n), Math.floor((n - 1) / 2));
      // The input weight matrix is the first tensor: pixel p's row is group p.
      const active = trigger.map((_, k) => (k + round.round) % layout.parts === 0);
      // Split among the attackers by a row's place among this round's active rows.
      let placed = 0;
      const place = active.map((a) => (a ? placed++ : -1));
      const rows = trigger.map((p) => [groups[p]!, groups[p + 1]!] as const);
      const touching = rows.map(([start, end]) => {
        let count = 0;
        for (const u of honest) {
          let any = false;
          for (let j = start; j < end && !any; j++) any = u[j] !== 0;
          if (any) count++;
        }
        return count;
      });
      // With the rows split, one attacker touches each.
      const escapes = (split: boolean) => touching.map((t, r) => active[r]! && t + (split ? 1 : f) > trim);
      const bound = medianNorm(honest);
      // Split: attacker i pushes only the (active) trigger rows r with r mod f = i, so no two attackers' pushes share a row
      // (against a test of several updates' silent energy in the same rows); shared: every attacker every row.
      const build = (beta: number, gamma: number, split: boolean) => {
        const escaping = escapes(split);
        return own.map((u, i) => {
          const v = Float32Array.from(u);
          rows.forEach(([start, end], r) => {
            const scale = !active[r] || (split && place[r]! % f !== i) ? 0 : escaping[r] ? beta : gamma;
            for (let j = start; j < end; j++) v[j] = scale * source[i]![j]!;
          });
          return withNormAtMost(v, bound);
        });
      };
      const accepts = (candidates: readonly Float32Array[]) =>
        weigh(candidates)
          .slice(0, f)
          .every((w) => w > 0);
      // The push: the attackers' summed weight times the energy each puts into the trigger rows.
      const push = (candidates: readonly Float32Array[]) => {
        const weights = weigh(candidates);
        return candidates.reduce((sum, c, i) => {
          let e = 0;
          for (const [start, end] of rows) for (let j = start; j < end; j++) e += c[j]! ** 2;
          return sum + weights[i]! * Math.sqrt(e);
        }, 0);
      };
      let best: { push: number; candidates: Float32Array[] } | undefined;
      for (const split of f > 1 ? [false, true] : [false]) {
        const beta = escapes(split).some(Boolean)
          ? largestAcceptedGamma((b) => accepts(build(b, 0, split)))
          : 0;
        if (beta === undefined) continue;
        const gamma = largestAcceptedGamma((g) => accepts(build(beta, g, split))) ?? 0;
        for (const share of ADAPTIVE_BACKOFF) {
          const candidates = build(beta * share, gamma * share, split);
          const p = push(candidates);
          if (best === undefined || p > best.push) best = { push: p, candidates };
        }
      }
      // Even the trigger-free update is rejected: send the plain backdoor (rejected as well, nothing lost).
      if (best === undefined) return backdoorAttack.craft(round);
      return best.candidates;
    },
  };
  return {
    poisonData: (data) => poisonWithTrigger(data, undefined, pixels(data)),
    triggered: (test) => triggeredTestSet(test, trigger),
    updates,
  };
}
