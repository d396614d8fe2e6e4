/**
 * The node's aggregation rule ("screened mean"): score every update (anomaly.ts), give anomalous updates
 * weight 0, limit self-reported sample counts, then take the weighted mean of the rest.
 *
 * Why this rule for the node: its output is a weighted mean of the committed updates with public weights
 * (the accepted weights go on chain), which is exactly the statement the zk circuit proves
 * (agg · W + rem = Σ w_k · u_k, docs/protocol.md §5). The screening decision itself is not proven, but the
 * weights it produced are public, so every rejected trainer is visible and can dispute off chain. Rules
 * that output anything other than a weighted mean of the inputs (median, trimmed mean, centered clipping)
 * cannot be proven by that circuit.
 *
 * Screening runs twice (for groups of at least `MIN_UPDATES_FOR_RELATIVE_CHECKS`): first against the coordinate-wise median (robust, but biased by the attackers'
 * coordinates and noisy on non-IID data), then against the weighted mean of the updates the first pass
 * accepted, a cleaner reference in which poisoned directions stand out more.
 */
import { MIN_UPDATES_FOR_RELATIVE_CHECKS, scoreUpdates } from "./update-scores.ts";
import type { UpdateScore } from "./update-scores.ts";
import { AggregationInputError, fedAvg } from "../core/updates.ts";
import type { WeightedUpdate } from "../core/updates.ts";
import { medianAggregator } from "./rules/median.ts";
import { SAMPLE_COUNT_FLAG_FACTOR, SAMPLE_COUNT_WEIGHT_CAP_FACTOR } from "./constants.ts";

/** The outcome of screening: per-update scores, which sample counts were implausible, and final weights. */
export interface ScreeningResult {
  /** Scores of the final (second) pass. */
  readonly scores: readonly UpdateScore[];
  /** True where the update was rejected by either pass. */
  readonly rejected: readonly boolean[];
  /** True where the self-reported sample count was implausible (above the flag factor × median). */
  readonly sampleCountFlagged: readonly boolean[];
  /** Capped sample count for accepted updates, 0 for rejected ones. Integers. */
  readonly acceptedWeights: readonly number[];
}

function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
}

/**
 * Screens updates (weights are self-reported sample counts). When every update is rejected every weight is
 * 0 and the caller skips the round.
 */
export function screenUpdates(updates: readonly WeightedUpdate[]): ScreeningResult {
  if (updates.length === 0) throw new AggregationInputError("no updates to screen");
  for (const u of updates) {
    if (!(Number.isFinite(u.weight) && u.weight >= 0))
      throw new AggregationInputError(`sample count ${u.weight} is not a non-negative number`);
  }
  const counts = updates.map((u) => Math.floor(u.weight));
  const typical = median(counts);
  const sampleCountFlagged = counts.map((c) => c > SAMPLE_COUNT_FLAG_FACTOR * typical);
  const weights = counts.map((c) => Math.min(c, Math.floor(SAMPLE_COUNT_WEIGHT_CAP_FACTOR * typical)));

  const first = scoreUpdates(updates, medianAggregator.aggregate(updates).aggregate);
  const survivors = updates.flatMap((u, i) =>
    !first[i]!.suspicious && weights[i]! > 0 ? [{ update: u.update, weight: weights[i]! }] : [],
  );
  const scores =
    survivors.length === 0 || updates.length < MIN_UPDATES_FOR_RELATIVE_CHECKS
      ? first
      : scoreUpdates(updates, fedAvg(survivors));
  const rejected = scores.map((s, i) => s.suspicious || first[i]!.suspicious);
  return {
    scores,
    rejected,
    sampleCountFlagged,
    acceptedWeights: weights.map((w, i) => (rejected[i] ? 0 : w)),
  };
}
