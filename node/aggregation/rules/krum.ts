/**
 * Krum and Multi-Krum: Blanchard et al., "Machine Learning with Adversaries: Byzantine Tolerant Gradient
 * Descent", NeurIPS 2017 (needs n >= 2f + 3).
 *
 * Both run in the node (issue #22): the output is the weighted mean of the selected updates under the weights
 * the rule returns (the selected ones' sample counts capped at the group's median, as the screened and guarded
 * means cap them; 0 for the others), which is exactly what a round posts and the circuit proves. The paper's
 * Multi-Krum averages the selected updates equally; weighing them by capped counts is what lets the node post
 * the result, and equals it on equal counts. Which updates were selected is a deterministic function of the
 * revealed updates, so any watcher can recheck it (not proven, like every rule's weights, docs §8).
 */
import { AggregationInputError, fedAvg } from "../../core/updates.ts";
import type { WeightedUpdate } from "../../core/updates.ts";
import { SAMPLE_COUNT_WEIGHT_CAP_FACTOR } from "../constants.ts";
import { checkUpdates } from "./types.ts";
import type { AggregationRule, Aggregator } from "./types.ts";

/** Why an update was left out: it is not among the lowest Krum scores. */
export const KRUM_REJECTED_REASON = "krum-score";

export const KRUM_CITATION =
  "Blanchard et al., Machine Learning with Adversaries: Byzantine Tolerant Gradient Descent, NeurIPS 2017";

function pairwiseSquaredDistances(updates: readonly WeightedUpdate[]): Float64Array {
  const n = updates.length;
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = updates[i]!.update;
      const b = updates[j]!.update;
      let s = 0;
      for (let k = 0; k < a.length; k++) s += (a[k]! - b[k]!) ** 2;
      d[i * n + j] = d[j * n + i] = s;
    }
  }
  return d;
}

/** Krum scores: sum of squared distances to the n - f - 2 nearest other updates. */
export function krumScores(updates: readonly WeightedUpdate[], f: number): number[] {
  const n = updates.length;
  if (n < 2 * f + 3) throw new AggregationInputError(`Krum needs n >= 2f + 3 (n = ${n}, f = ${f})`);
  const d = pairwiseSquaredDistances(updates);
  return updates.map((_, i) => {
    const row = Array.from({ length: n }, (_, j) => d[i * n + j]!).filter((_, j) => j !== i);
    row.sort((a, b) => a - b);
    return row.slice(0, n - f - 2).reduce((a, b) => a + b, 0);
  });
}

/**
 * The Byzantine count Krum assumes in a group of `size` updates when `f` was assumed for groups of `assumedFor`:
 * the same share, at most what the group tolerates (n >= 2f + 3). A node's rounds vary in size, and its rule is
 * configured once per task: a fixed f would make Krum refuse every smaller round, or tolerate too few attackers
 * in larger ones.
 */
export function krumByzantineCount(size: number, f: number, assumedFor = size): number {
  const scaled = assumedFor > 0 ? Math.floor((size * f) / assumedFor) : f;
  return Math.max(0, Math.min(scaled, Math.floor((size - 3) / 2)));
}

function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
}

/**
 * Multi-Krum: the weighted mean of the `m` updates with the lowest Krum scores (m = 1 is Krum; default n - f),
 * weighted by sample count capped at the group's median (see the file comment). `f` is assumed for groups of
 * `assumedFor` updates (default: whatever group it is given, i.e. f fixed) and scaled to each group's size
 * (`krumByzantineCount`).
 */
export function multiKrumAggregator(f: number, m?: number, assumedFor?: number): Aggregator {
  return {
    name: m === 1 ? `krum(f=${f})` : `multi-krum(f=${f})`,
    provable: true,
    aggregate(updates) {
      checkUpdates(updates);
      const groupF = assumedFor === undefined ? f : krumByzantineCount(updates.length, f, assumedFor);
      const scores = krumScores(updates, groupF);
      const keep = m ?? updates.length - groupF;
      const chosen = new Set(
        scores
          .map((s, i) => [s, i] as const)
          .sort((a, b) => a[0] - b[0])
          .slice(0, keep)
          .map(([, i]) => i),
      );
      // Sample counts are claims: no selected update weighs more than a typical one (screening.ts).
      const counts = updates.map((u) => Math.floor(u.weight));
      const cap = Math.floor(SAMPLE_COUNT_WEIGHT_CAP_FACTOR * median(counts));
      const acceptedWeights = counts.map((c, i) => (chosen.has(i) ? Math.max(0, Math.min(c, cap)) : 0));
      const selected = updates.flatMap((u, i) =>
        acceptedWeights[i]! > 0 ? [{ update: u.update, weight: acceptedWeights[i]! }] : [],
      );
      if (selected.length === 0) throw new AggregationInputError("no selected update has a positive weight");
      return {
        aggregate: fedAvg(selected),
        acceptedWeights,
        reasons: updates.map((_, i) => (chosen.has(i) ? [] : [KRUM_REJECTED_REASON])),
      };
    },
  };
}

export const krumRule: AggregationRule<"krum"> = {
  name: "krum",
  citation: KRUM_CITATION,
  taskMode: true,
  provable: () => true,
  screensSingleUpdates: () => true,
  create: ({ n, f }) => multiKrumAggregator(f, 1, n),
};
