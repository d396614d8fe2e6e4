/**
 * The node's rule, the guarded mean (../guarded-mean.ts, with trainer history from guarded-mean-trust.ts):
 * each update is accepted or rejected from
 * per-coordinate bounds, silent-coordinate energy, near-duplicate deviations, norm and direction, then the
 * accepted ones are averaged by capped sample count. Ideas from Yin et al. 2018 (trimmed per-coordinate
 * ranges), FLAME (Nguyen et al., USENIX Security 2022) and FoolsGold (Fung et al., RAID 2020), used as
 * evidence for a whole-update decision so the output stays a weighted mean the zk circuit proves
 * (docs/protocol.md §8).
 */
import { AggregationInputError, fedAvg } from "../../core/updates.ts";
import { guardUpdates } from "../guarded-mean.ts";
import type { GuardedMeanOptions } from "../guarded-mean.ts";
import { guardedMeanTrustAggregator } from "./guarded-mean-trust.ts";
import type { AggregationResult, AggregationRule, Aggregator } from "./types.ts";

/** The memoryless guarded mean as an `Aggregator` (one round's guard, no trainer history). */
export function guardedMeanAggregator(options: GuardedMeanOptions = {}, groups?: Uint32Array): Aggregator {
  return {
    name: options.cosineWeighting === 1 ? "guarded-mean-weighted" : "guarded-mean",
    provable: true,
    aggregate(updates, context = {}): AggregationResult {
      const { acceptedWeights, updates: evidence } = guardUpdates(
        updates,
        options,
        groups,
        context.previousUpdate,
      );
      const kept = updates.flatMap((u, i) =>
        acceptedWeights[i]! > 0 ? [{ update: u.update, weight: acceptedWeights[i]! }] : [],
      );
      if (kept.length === 0) throw new AggregationInputError("every update was rejected");
      return { aggregate: fedAvg(kept), acceptedWeights, reasons: evidence.map((e) => e.reasons) };
    },
  };
}

/**
 * The node's rule: the guard below each round, and weights lowered by each trainer's trust across rounds
 * (guarded-mean-trust.ts). Its on-chain id (8) is unchanged: the proven statement (a weighted mean of the
 * committed updates with the posted weights) is the same.
 */
export const guardedMeanRule: AggregationRule<"guarded-mean"> = {
  name: "guarded-mean",
  citation:
    "Yin et al., ICML 2018; Nguyen et al., FLAME, USENIX Security 2022; Fung et al., FoolsGold, RAID 2020 (as whole-update evidence); Karimireddy, He, Jaggi, ICML 2021 and Cao et al., FLTrust, NDSS 2021 (trainer history)",
  taskMode: true,
  provable: () => true,
  screensSingleUpdates: () => true,
  create: ({ groups }) => guardedMeanTrustAggregator(groups === undefined ? {} : { groups }),
};

/** Benchmark-only variant: accepted weights also scaled by relative cosine (`cosineWeighting: 1`). */
export const guardedMeanWeightedRule: AggregationRule<"guarded-mean-weighted"> = {
  name: "guarded-mean-weighted",
  citation: "the guarded mean with FLTrust-like cosine weights (Cao et al., NDSS 2021)",
  taskMode: false,
  provable: () => true,
  screensSingleUpdates: () => true,
  create: ({ groups }) => guardedMeanAggregator({ cosineWeighting: 1 }, groups),
};
