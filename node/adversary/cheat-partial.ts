/**
 * A lying sub-aggregator (hierarchical rounds): shifts every coordinate of its partial aggregate by `bias`
 * fixed-point units (per unit of weight, so the decoded aggregate moves by `bias`). Its parent's spot check
 * opens chunks against the trainers' commitments and refuses the partial.
 */
import type { RoundAdversary } from "./round-adversary.ts";
import { DEMO_AGGREGATE_BIAS } from "./cheat-aggregate.ts";

export function cheatPartial(bias = DEMO_AGGREGATE_BIAS): Pick<RoundAdversary, "transformPartial"> {
  return {
    transformPartial: (partial) => {
      let total = 0;
      for (const w of partial.weights.values()) total += w;
      return { weights: partial.weights, sums: partial.sums.map((s) => s + bias * total) };
    },
  };
}
