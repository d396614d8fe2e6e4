/**
 * The node's rule, the screened mean (screening.ts): anomalous updates get weight 0, sample counts are
 * capped, the rest averaged. Robust-aggregation background: Blanchard et al. 2017 and Yin et al. 2018 (the
 * per-update distance and norm checks it screens with); its output stays a weighted mean so the zk circuit
 * proves it (docs/protocol.md §5).
 */
import { AggregationInputError, fedAvg } from "../../core/updates.ts";
import { screenUpdates } from "../screening.ts";
import type { AggregationResult, AggregationRule, Aggregator } from "./types.ts";

/** The screened mean as an `Aggregator` (the node's rule; used by the simulator and bench:robust). */
export const screenedMeanAggregator: Aggregator = {
  name: "screened-mean",
  provable: true,
  aggregate(updates): AggregationResult {
    const { acceptedWeights } = screenUpdates(updates);
    const kept = updates.flatMap((u, i) =>
      acceptedWeights[i]! > 0 ? [{ update: u.update, weight: acceptedWeights[i]! }] : [],
    );
    if (kept.length === 0) throw new AggregationInputError("every update was rejected as anomalous");
    return { aggregate: fedAvg(kept), acceptedWeights };
  },
};

export const screenedMeanRule: AggregationRule<"screened-mean"> = {
  name: "screened-mean",
  citation: "vAIn's screened mean (node/aggregation/screening.ts), docs/protocol.md §5",
  taskMode: true,
  provable: () => true,
  screensSingleUpdates: () => true,
  create: () => screenedMeanAggregator,
};
