/**
 * Per-update anomaly scores for reputation and rejection: the update's norm relative to the median norm,
 * its cosine similarity to the robust aggregate, and implausible self-reported sample counts.
 */
import { l2norm } from "./rules.ts";
import type { WeightedUpdate } from "./rules.ts";

export interface UpdateScore {
  /** Norm divided by the median norm (1 = typical). */
  readonly normRatio: number;
  /** Cosine similarity to the reference (robust) aggregate, in [-1, 1]. */
  readonly cosine: number;
  /** True when the update looks poisoned or useless. */
  readonly suspicious: boolean;
  readonly reasons: readonly string[];
}

/** Thresholds chosen from the attack simulations (bench:robust): honest updates stay well inside them. */
export const ANOMALY_THRESHOLDS = { maxNormRatio: 3, minNormRatio: 0.05, minCosine: 0 } as const;

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
  return updates.map((u, i) => {
    const normRatio = median === 0 ? 0 : norms[i]! / median;
    const c = cosine(u.update, reference);
    const reasons: string[] = [];
    if (normRatio > ANOMALY_THRESHOLDS.maxNormRatio) reasons.push("norm far above the median");
    if (normRatio < ANOMALY_THRESHOLDS.minNormRatio) reasons.push("near-zero update (free-riding)");
    if (c < ANOMALY_THRESHOLDS.minCosine) reasons.push("points away from the robust aggregate");
    return { normRatio, cosine: c, suspicious: reasons.length > 0, reasons };
  });
}

/**
 * Flags sample counts above `factor` × the median and caps them there, so an inflated count cannot buy
 * a larger share of the aggregate or of the rewards.
 */
export function capSampleCounts(
  weights: readonly number[],
  factor = 3,
): { weights: number[]; flagged: boolean[] } {
  const sorted = [...weights].sort((a, b) => a - b);
  const cap = (sorted[Math.floor(sorted.length / 2)] ?? 0) * factor;
  return { weights: weights.map((w) => Math.min(w, cap)), flagged: weights.map((w) => w > cap) };
}
