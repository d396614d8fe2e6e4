/** FedAvg: McMahan et al., "Communication-Efficient Learning of Deep Networks from Decentralized Data", 2017 (weighted mean). */
import { fedAvg } from "../../core/updates.ts";
import { checkUpdates } from "./types.ts";
import type { AggregationRule, Aggregator } from "./types.ts";

/** Weighted mean (FedAvg). */
export const fedAvgAggregator: Aggregator = {
  name: "fedavg",
  provable: true,
  aggregate(updates) {
    checkUpdates(updates);
    return { aggregate: fedAvg(updates), acceptedWeights: updates.map((u) => u.weight) };
  },
};

export const fedAvgRule: AggregationRule<"fedavg"> = {
  name: "fedavg",
  citation: "McMahan et al., Communication-Efficient Learning of Deep Networks from Decentralized Data, 2017",
  taskMode: true,
  provable: () => true,
  screensSingleUpdates: () => false,
  create: () => fedAvgAggregator,
};
