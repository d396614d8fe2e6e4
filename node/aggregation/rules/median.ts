/**
 * Coordinate-wise median: Yin et al., "Byzantine-Robust Distributed Learning: Towards Optimal Statistical
 * Rates", ICML 2018.
 */
import { checkUpdates } from "./types.ts";
import type { AggregationRule, Aggregator } from "./types.ts";

const CITATION =
  "Yin et al., Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates, ICML 2018";

/** Coordinate-wise median (unweighted: a weight is a claim an attacker controls). */
export const medianAggregator: Aggregator = {
  name: "median",
  provable: false,
  aggregate(updates) {
    const size = checkUpdates(updates);
    const n = updates.length;
    const out = new Float32Array(size);
    const column = new Float32Array(n);
    for (let j = 0; j < size; j++) {
      for (let i = 0; i < n; i++) column[i] = updates[i]!.update[j]!;
      column.sort();
      out[j] = n % 2 === 1 ? column[(n - 1) / 2]! : (column[n / 2 - 1]! + column[n / 2]!) / 2;
    }
    return { aggregate: out, acceptedWeights: updates.map((u) => u.weight) };
  },
};

export const medianRule: AggregationRule<"median"> = {
  name: "median",
  citation: CITATION,
  taskMode: true,
  provable: () => false,
  screensSingleUpdates: () => true,
  create: () => medianAggregator,
};
