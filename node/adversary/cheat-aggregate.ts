/**
 * A cheating aggregator: shifts every coordinate of its fixed-point aggregate by `bias` and never answers a
 * challenge of it (it cannot prove the biased values). Any challenged chunk then resolves unanswered and the
 * aggregator is slashed.
 */
import type { RoundAdversary } from "./round-adversary.ts";

/** Fixed-point units added to every coordinate (2^-16 each: a visible but bounded bias). */
export const DEMO_AGGREGATE_BIAS = 40;
const MAX_FIXED_POINT = 65_535;

export function cheatAggregate(
  bias = DEMO_AGGREGATE_BIAS,
): Pick<RoundAdversary, "transformAggregate" | "answersChallenges"> {
  return {
    transformAggregate: (aggregate) => {
      for (let j = 0; j < aggregate.length; j++)
        aggregate[j] = Math.min(MAX_FIXED_POINT, aggregate[j]! + bias);
      return aggregate;
    },
    answersChallenges: () => false,
  };
}
