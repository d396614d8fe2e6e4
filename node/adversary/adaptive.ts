/**
 * The omniscient adaptive attacker: every attacker sends `base_i + λ · p`, where `p` is the direction that
 * hurts most for a given distance, against the honest mean (inner-product manipulation, Xie et al. 2020) or
 * against the per-coordinate spread (A Little Is Enough, Baruch et al. 2019), and λ is found by bisection as
 * the largest value the rule's own acceptance test still accepts. This is the AGR-tailored attack of
 * Shejwalkar & Houmansadr, "Manipulating the Byzantine: Optimizing Model Poisoning Attacks and Defenses for
 * Federated Learning", NDSS 2021: a defence is only as good as the worst point inside its acceptance region.
 *
 * The search is over the bases as well as λ, and it keeps the candidates that move the rule's *output*
 * furthest along `p` (the attackers' weights as the rule sets them, honest updates it rejects included), not
 * the largest accepted λ: against a rule with trust weights a smaller push at full weight can beat a larger
 * one at reduced weight. Bases:
 * - the honest mean plus independent noise per attacker at several levels of the honest per-coordinate
 *   spread (0: one shared vector): the noise is what keeps sybils below a near-duplicate test;
 * - each attacker's own honestly trained update: its deviation from the mean is as persistent from round
 *   to round as an honest trainer's (the attackers keep their data), against history-based trust.
 */
import { Rng } from "../core/rng.ts";
import { meanAndStd, medianNorm, norm } from "./update-attack.ts";
import type { AttackRound, UpdateAttack } from "./update-attack.ts";
import { mapFloat32 } from "../core/vectors.ts";

/** Largest multiple of the honest median norm searched (10×: far outside any sane acceptance region). */
export const ADAPTIVE_MAX_SCALE = 10;
/** Bisection steps (1/64 of the range: finer gains the attacker nothing measurable). */
export const ADAPTIVE_SEARCH_STEPS = 6;
/**
 * Independent noise levels tried, in units of the honest per-coordinate spread: 0 (one shared vector), 1 (as
 * far apart as honest trainers), 2 (past a stricter near-duplicate test). Each level costs about 8 queries of
 * the rule per round; more levels kept the full bench:robust grid past its 40-minute budget.
 */
export const ADAPTIVE_NOISE_LEVELS = [0, 1, 2] as const;
/**
 * Shares of the largest accepted λ also tried per base: trust weights fall with misalignment, so the push
 * that moves the weighted output most can lie inside the acceptance boundary.
 */
export const ADAPTIVE_BACKOFF = [1, 0.5] as const;
/** Scale used when no acceptance test is known (the honest median norm). */
const BLIND_SCALE = 1;

export type AdaptiveDirection = "inverse-mean" | "inverse-std";

/** A unit-norm direction of harm for this round. */
export function harmDirection(round: AttackRound, direction: AdaptiveDirection): Float32Array {
  const { mean, std } = meanAndStd(round.honest);
  const p = direction === "inverse-mean" ? mapFloat32(mean, (m) => -m) : mapFloat32(std, (s) => -s);
  const length = norm(p);
  return length === 0 ? p : mapFloat32(p, (x) => x / length);
}

/**
 * The largest `scale` in [0, ADAPTIVE_MAX_SCALE] whose candidates the rule accepts (all of them);
 * `undefined` when even scale 0 is rejected.
 */
export function largestAcceptedScale(
  build: (scale: number) => Float32Array[],
  accepts: (candidates: readonly Float32Array[]) => boolean,
): number | undefined {
  if (!accepts(build(0))) return undefined;
  if (accepts(build(ADAPTIVE_MAX_SCALE))) return ADAPTIVE_MAX_SCALE;
  let low = 0;
  let high = ADAPTIVE_MAX_SCALE;
  for (let step = 0; step < ADAPTIVE_SEARCH_STEPS; step++) {
    const mid = (low + high) / 2;
    if (accepts(build(mid))) low = mid;
    else high = mid;
  }
  return low;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Sends `base_i + scale · medianNorm · direction` per attacker, with the base and scale (see the module
 * comment) that move the rule's weighted output furthest along `direction`. Shared by the adaptive,
 * slow-poisoning and sleeper attacks. The noise ξ is drawn from `noiseSeed` (fresh each round by default; a
 * fixed seed gives each attacker a persistent one).
 */
export function craftAgainstRule(
  round: AttackRound,
  direction: Float32Array,
  noiseSeed = round.seed * 7919 + round.round,
): Float32Array[] {
  const { mean, std } = meanAndStd(round.honest);
  const unit = medianNorm(round.honest);
  const rng = new Rng(noiseSeed);
  const noises = round.own.map(() => mapFloat32(std, (s) => s * rng.normal()));
  const aroundMean = (noise: number) => (scale: number) =>
    noises.map((xi) => mapFloat32(mean, (m, i) => m + scale * unit * direction[i]! + noise * xi[i]!));
  const aroundOwn = (scale: number) =>
    round.own.map((u) => mapFloat32(u, (x, i) => x + scale * unit * direction[i]!));
  const { weigh } = round;
  if (weigh === undefined) return aroundMean(0)(BLIND_SCALE);
  const f = round.own.length;
  const meanAlong = dot(mean, direction);
  const honestAlong = round.honest.map((h) => dot(h, direction) - meanAlong);
  // How far the rule's output moves along `direction` from the honest mean with these candidates.
  const pull = (candidates: readonly Float32Array[]): number => {
    const weights = weigh(candidates);
    let total = 0;
    let moved = 0;
    weights.forEach((w, i) => {
      total += w;
      moved += w * (i < f ? dot(candidates[i]!, direction) - meanAlong : honestAlong[i - f]!);
    });
    return total === 0 ? 0 : moved / total;
  };
  const accepts = (candidates: readonly Float32Array[]) =>
    weigh(candidates)
      .slice(0, f)
      .every((w) => w > 0);
  // Nothing passes (the rule rejects even the honest mean from these senders): send the mean, lose nothing.
  let best = { pull: -Infinity, candidates: aroundMean(0)(0) };
  for (const build of [...ADAPTIVE_NOISE_LEVELS.map(aroundMean), aroundOwn]) {
    const largest = largestAcceptedScale(build, accepts);
    if (largest === undefined) continue;
    for (const share of ADAPTIVE_BACKOFF) {
      const candidates = build(largest * share);
      const moved = pull(candidates);
      if (moved > best.pull) best = { pull: moved, candidates };
    }
  }
  return best.candidates;
}

/** The adaptive omniscient attack along one direction of harm. */
export function adaptiveAttack(direction: AdaptiveDirection): UpdateAttack {
  return {
    name: direction === "inverse-mean" ? "adaptive-ipm" : "adaptive-alie",
    craft: (round) => craftAgainstRule(round, harmDirection(round, direction)),
  };
}
