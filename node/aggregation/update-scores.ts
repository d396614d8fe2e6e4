/**
 * Per-update anomaly scores for reputation and rejection: the update's norm relative to the median norm,
 * its cosine similarity to the robust aggregate, and implausible self-reported sample counts.
 */
import { l2norm } from "../core/updates.ts";
import type { WeightedUpdate } from "../core/updates.ts";
import { SAMPLE_COUNT_FLAG_FACTOR } from "./constants.ts";

export interface UpdateScore {
  /** Norm divided by the median norm (1 = typical). */
  readonly normRatio: number;
  /** Cosine similarity to the reference (robust) aggregate, in [-1, 1]. */
  readonly cosine: number;
  /** True when the update looks poisoned or useless. */
  readonly suspicious: boolean;
  readonly reasons: readonly string[];
}

/**
 * Thresholds, checked against the honest updates of the bench:robust simulations (IID and Dirichlet 0.5):
 * honest norms stay within 0.5–1.4 × the median and honest cosines above 0.6 × the median cosine, so these
 * bounds leave a wide margin. `minRelativeCosine` is relative because honest cosines shrink as training
 * converges (and are lower on non-IID data), while a poisoned update sits far below the typical one.
 */
export const ANOMALY_THRESHOLDS = {
  maxNormRatio: 3,
  minNormRatio: 0.05,
  minCosine: 0,
  minRelativeCosine: 0.5,
} as const;

/**
 * Relative checks (against the median cosine) need enough updates for the median to describe the group: with
 * fewer (e.g. the 2-member groups of hierarchical aggregation) one update's own value sets the bar.
 */
export const MIN_UPDATES_FOR_RELATIVE_CHECKS = 5;

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  const denom = l2norm(a) * l2norm(b);
  return denom === 0 ? 0 : dot / denom;
}

/** Scores every update against a robust reference aggregate. */
export function scoreUpdates(updates: readonly WeightedUpdate[], reference: Float32Array): UpdateScore[] {
  const norms = updates.map((u) => l2norm(u.update));
  const sorted = [...norms].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const cosines = updates.map((u) => cosine(u.update, reference));
  const medianCosine = [...cosines].sort((a, b) => a - b)[Math.floor(cosines.length / 2)] ?? 0;
  return updates.map((_, i) => {
    const normRatio = median === 0 ? 0 : norms[i]! / median;
    const c = cosines[i]!;
    const reasons: string[] = [];
    if (normRatio > ANOMALY_THRESHOLDS.maxNormRatio) reasons.push("norm far above the median");
    if (normRatio < ANOMALY_THRESHOLDS.minNormRatio) reasons.push("near-zero update (free-riding)");
    if (c < ANOMALY_THRESHOLDS.minCosine) reasons.push("points away from the robust aggregate");
    else if (
      updates.length >= MIN_UPDATES_FOR_RELATIVE_CHECKS &&
      c < ANOMALY_THRESHOLDS.minRelativeCosine * medianCosine
    )
      reasons.push("far less aligned with the robust aggregate than the typical update");
    return { normRatio, cosine: c, suspicious: reasons.length > 0, reasons };
  });
}

/**
 * Flags sample counts above `factor` × the median and caps them there, so an inflated count cannot buy
 * a larger share of the aggregate or of the rewards.
 */
export function capSampleCounts(
  weights: readonly number[],
  factor = SAMPLE_COUNT_FLAG_FACTOR,
): { weights: number[]; flagged: boolean[] } {
  const sorted = [...weights].sort((a, b) => a - b);
  const cap = (sorted[Math.floor(sorted.length / 2)] ?? 0) * factor;
  return { weights: weights.map((w) => Math.min(w, cap)), flagged: weights.map((w) => w > cap) };
}
