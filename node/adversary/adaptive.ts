/**
 * The omniscient adaptive attacker: every attacker sends one shared vector `honest mean + λ · p` (plus, if
 * that is what passes, a little independent noise each so they do not look identical), with λ found by
 * bisection as the largest value the rule's own acceptance test still accepts. `p` is the direction that
 * hurts most for a given distance: against the honest mean (inner-product manipulation, Xie et al. 2020) or
 * against the per-coordinate spread (A Little Is Enough, Baruch et al. 2019). This is the AGR-tailored
 * attack of Shejwalkar & Houmansadr, "Manipulating the Byzantine: Optimizing Model Poisoning Attacks and
 * Defenses for Federated Learning", NDSS 2021: a defence is only as good as the worst point inside its
 * acceptance region.
 */
import { Rng } from "../core/rng.ts";
import { meanAndStd, medianNorm, norm } from "./update-attack.ts";
import type { AttackRound, UpdateAttack } from "./update-attack.ts";

/** Largest multiple of the honest median norm searched (10×: far outside any sane acceptance region). */
export const ADAPTIVE_MAX_SCALE = 10;
/** Bisection steps (1/64 of the range: finer gains the attacker nothing measurable). */
export const ADAPTIVE_SEARCH_STEPS = 6;
/** Independent noise levels tried, in units of the honest per-coordinate spread (0: identical vectors). */
export const ADAPTIVE_NOISE_LEVELS = [0, 1] as const;
/** Scale used when no acceptance test is known (the honest median norm). */
const BLIND_SCALE = 1;

export type AdaptiveDirection = "inverse-mean" | "inverse-std";

/** A unit-norm direction of harm for this round. */
export function harmDirection(round: AttackRound, direction: AdaptiveDirection): Float32Array {
  const { mean, std } = meanAndStd(round.honest);
  const p =
    direction === "inverse-mean" ? Float32Array.from(mean, (m) => -m) : Float32Array.from(std, (s) => -s);
  const length = norm(p);
  return length === 0 ? p : Float32Array.from(p, (x) => x / length);
}

/**
 * The largest `scale` in [0, ADAPTIVE_MAX_SCALE] whose candidates the rule accepts (all of them), and those
 * candidates; `undefined` when even scale 0 is rejected.
 */
export function searchAccepted(
  build: (scale: number) => Float32Array[],
  accepts: (candidates: readonly Float32Array[]) => readonly boolean[],
): { scale: number; candidates: Float32Array[] } | undefined {
  const passes = (c: Float32Array[]) => accepts(c).every(Boolean);
  let best: { scale: number; candidates: Float32Array[] } | undefined;
  const zero = build(0);
  if (passes(zero)) best = { scale: 0, candidates: zero };
  else return undefined;
  const top = build(ADAPTIVE_MAX_SCALE);
  if (passes(top)) return { scale: ADAPTIVE_MAX_SCALE, candidates: top };
  let low = 0;
  let high = ADAPTIVE_MAX_SCALE;
  for (let step = 0; step < ADAPTIVE_SEARCH_STEPS; step++) {
    const mid = (low + high) / 2;
    const candidates = build(mid);
    if (passes(candidates)) {
      low = mid;
      best = { scale: mid, candidates };
    } else high = mid;
  }
  return best;
}

/**
 * Sends `base + scale · medianNorm · direction + noise · std · ξ_i` per attacker, with the largest scale
 * (over the noise levels) the rule accepts. Shared by the adaptive, slow-poisoning and sleeper attacks. ξ is
 * drawn from `noiseSeed` (fresh each round by default; a fixed seed gives each attacker a persistent one).
 */
export function craftAgainstRule(
  round: AttackRound,
  direction: Float32Array,
  noiseSeed = round.seed * 7919 + round.round,
): Float32Array[] {
  const { mean, std } = meanAndStd(round.honest);
  const unit = medianNorm(round.honest);
  const rng = new Rng(noiseSeed);
  const noises = round.own.map(() => Float32Array.from(std, (s) => s * rng.normal()));
  const build = (noise: number) => (scale: number) =>
    noises.map((xi) => Float32Array.from(mean, (m, i) => m + scale * unit * direction[i]! + noise * xi[i]!));
  if (round.accepts === undefined) return build(0)(BLIND_SCALE);
  let best: { scale: number; candidates: Float32Array[] } | undefined;
  for (const noise of ADAPTIVE_NOISE_LEVELS) {
    const found = searchAccepted(build(noise), round.accepts);
    if (found !== undefined && (best === undefined || found.scale > best.scale)) best = found;
  }
  // Nothing passes (the rule rejects even the honest mean from these senders): send the mean, lose nothing.
  return best?.candidates ?? build(0)(0);
}

/** The adaptive omniscient attack along one direction of harm. */
export function adaptiveAttack(direction: AdaptiveDirection): UpdateAttack {
  return {
    name: direction === "inverse-mean" ? "adaptive-ipm" : "adaptive-alie",
    craft: (round) => craftAgainstRule(round, harmDirection(round, direction)),
  };
}
