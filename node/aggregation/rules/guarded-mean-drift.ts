/**
 * Benchmark-only: the node's rule with the model-drift test on (../silent-drift.ts): an update whose silent rows
 * point along the global model's own accumulated movement there (energy-weighted row cosine above
 * `MEASURED_DRIFT_COSINE`) is rejected. A memory rotation among rows and trainers does not reset (the rotating
 * trigger evades the per-trainer ones). Provable: a rejection, and the drift is the sum of the posted aggregates.
 */
import { guardedMeanTrustAggregator } from "./guarded-mean-trust.ts";
import type { AggregationRule } from "./types.ts";

/**
 * The bound measured in bench:robust (--compress, rotating-trigger-backdoor, 30% Dirichlet 0.5, seed 1, --evidence,
 * with the test off): honest row cosines at most 0.43 (round 3) and 0.31 from round 5 on; the attackers 0.49-0.73 in
 * round 7, when they return to the trigger part the model learned in round 4.
 */
export const MEASURED_DRIFT_COSINE = 0.45;

export const guardedMeanDriftRule: AggregationRule<"guarded-mean-drift"> = {
  name: "guarded-mean-drift",
  citation:
    "the guarded mean with a bound on how far an update's silent rows point along the model's own drift there (FLAME, Nguyen et al. 2022: backdoors live where benign updates differ little from zero)",
  taskMode: false,
  provable: () => true,
  screensSingleUpdates: () => true,
  create: ({ groups }) => {
    const rule = guardedMeanTrustAggregator({
      ...(groups === undefined ? {} : { groups }),
      drift: { maxCosine: MEASURED_DRIFT_COSINE },
    });
    return { ...rule, name: "guarded-mean-drift" };
  },
};
