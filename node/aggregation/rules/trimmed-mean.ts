/**
 * Coordinate-wise trimmed mean: Yin et al., "Byzantine-Robust Distributed Learning: Towards Optimal
 * Statistical Rates", ICML 2018.
 */
import { AggregationInputError } from "../../core/updates.ts";
import { checkUpdates } from "./types.ts";
import type { AggregationRule, Aggregator } from "./types.ts";
import { MAX_TRIM_FRACTION } from "../constants.ts";

/** Coordinate-wise trimmed mean: drops the `trim` largest and smallest values of each coordinate. */
export function trimmedMeanAggregator(trimFraction: number): Aggregator {
  if (!(trimFraction >= 0 && trimFraction < 0.5))
    throw new AggregationInputError("trim fraction must be in [0, 0.5)");
  return {
    name: `trimmed-mean(${trimFraction})`,
    provable: false,
    aggregate(updates) {
      const size = checkUpdates(updates);
      const n = updates.length;
      const trim = Math.floor(n * trimFraction);
      if (n - 2 * trim < 1)
        throw new AggregationInputError(`trimming ${trim} from each side of ${n} leaves nothing`);
      const out = new Float32Array(size);
      const column = new Float32Array(n);
      for (let j = 0; j < size; j++) {
        for (let i = 0; i < n; i++) column[i] = updates[i]!.update[j]!;
        column.sort();
        let s = 0;
        for (let i = trim; i < n - trim; i++) s += column[i]!;
        out[j] = s / (n - 2 * trim);
      }
      return { aggregate: out, acceptedWeights: updates.map((u) => u.weight) };
    },
  };
}

export const trimmedMeanRule: AggregationRule<"trimmed-mean"> = {
  name: "trimmed-mean",
  citation: "Yin et al., Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates, ICML 2018",
  taskMode: true,
  provable: () => false,
  screensSingleUpdates: () => true,
  // Trim the assumed Byzantine fraction from each side.
  create: ({ n, f }) => trimmedMeanAggregator(Math.min(MAX_TRIM_FRACTION, f / Math.max(1, n))),
};
