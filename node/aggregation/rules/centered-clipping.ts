/**
 * Centered clipping: Karimireddy et al., "Learning from History for Byzantine Robust Optimization", ICML
 * 2021.
 */
import { clipToNorm, difference, l2norm } from "../../core/updates.ts";
import { medianAggregator } from "./median.ts";
import { checkUpdates } from "./types.ts";
import type { AggregationRule, Aggregator } from "./types.ts";
import { CENTERED_CLIPPING_ITERATIONS } from "../constants.ts";
import { mapFloat32 } from "../../core/vectors.ts";

/**
 * Centered clipping: starting from a robust centre (coordinate-wise median), repeatedly moves the centre by
 * the mean of the clipped differences to each update.
 */
export function centeredClippingAggregator(
  tau?: number,
  iterations = CENTERED_CLIPPING_ITERATIONS,
): Aggregator {
  return {
    name: "centered-clipping",
    provable: false,
    aggregate(updates) {
      const size = checkUpdates(updates);
      let centre = medianAggregator.aggregate(updates).aggregate;
      for (let it = 0; it < iterations; it++) {
        const diffs = updates.map((u) => difference(u.update, centre));
        const norms = diffs.map(l2norm).sort((a, b) => a - b);
        const radius = tau ?? norms[Math.floor(norms.length / 2)]!;
        const step = new Float64Array(size);
        for (const d of diffs) {
          const clipped = clipToNorm(d, radius);
          for (let i = 0; i < size; i++) step[i]! += clipped[i]! / diffs.length;
        }
        centre = mapFloat32(centre, (c, i) => c + step[i]!);
      }
      return { aggregate: centre, acceptedWeights: updates.map((u) => u.weight) };
    },
  };
}

export const CENTERED_CLIPPING_CITATION =
  "Karimireddy et al., Learning from History for Byzantine Robust Optimization, ICML 2021";

export const centeredClippingRule: AggregationRule<"centered-clipping"> = {
  name: "centered-clipping",
  citation: CENTERED_CLIPPING_CITATION,
  taskMode: true,
  provable: () => false,
  screensSingleUpdates: () => true,
  create: ({ clipBound }) => centeredClippingAggregator(clipBound),
};
