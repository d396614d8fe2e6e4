/**
 * Krum and Multi-Krum: Blanchard et al., "Machine Learning with Adversaries: Byzantine Tolerant Gradient
 * Descent", NeurIPS 2017 (needs n >= 2f + 3).
 */
import { AggregationInputError, fedAvg } from "../../core/updates.ts";
import type { WeightedUpdate } from "../../core/updates.ts";
import { checkUpdates } from "./types.ts";
import type { AggregationRule, Aggregator } from "./types.ts";

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

/** Multi-Krum: averages the `m` updates with the lowest Krum scores (m = 1 is Krum; default n - f). */
export function multiKrumAggregator(f: number, m?: number): Aggregator {
  return {
    name: m === 1 ? `krum(f=${f})` : `multi-krum(f=${f})`,
    provable: false,
    aggregate(updates) {
      checkUpdates(updates);
      const scores = krumScores(updates, f);
      const keep = m ?? updates.length - f;
      const chosen = new Set(
        scores
          .map((s, i) => [s, i] as const)
          .sort((a, b) => a[0] - b[0])
          .slice(0, keep)
          .map(([, i]) => i),
      );
      const selected = updates.filter((_, i) => chosen.has(i));
      return {
        aggregate: fedAvg(selected.map((u) => ({ update: u.update, weight: 1 }))),
        acceptedWeights: updates.map((u, i) => (chosen.has(i) ? u.weight : 0)),
      };
    },
  };
}

export const krumRule: AggregationRule<"krum"> = {
  name: "krum",
  citation: KRUM_CITATION,
  taskMode: true,
  provable: () => false,
  screensSingleUpdates: () => true,
  create: ({ f }) => multiKrumAggregator(f, 1),
};
