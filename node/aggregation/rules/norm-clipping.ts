/** Norm clipping: Sun et al., "Can You Really Backdoor Federated Learning?", 2019. */
import { clipToNorm, fedAvg, l2norm } from "../../core/updates.ts";
import { checkUpdates } from "./types.ts";
import type { AggregationRule, Aggregator } from "./types.ts";

/**
 * Weighted mean of updates clipped to L2 norm `bound` (the rule the zk circuit proves). Without a fixed
 * bound, the median of the update norms is used.
 */
export function normClippingAggregator(bound?: number): Aggregator {
  return {
    name: bound === undefined ? "norm-clipping(median)" : `norm-clipping(${bound})`,
    provable: bound !== undefined,
    aggregate(updates) {
      checkUpdates(updates);
      const norms = updates.map((u) => l2norm(u.update)).sort((a, b) => a - b);
      const tau = bound ?? norms[Math.floor(norms.length / 2)]!;
      return {
        aggregate: fedAvg(updates.map((u) => ({ update: clipToNorm(u.update, tau), weight: u.weight }))),
        acceptedWeights: updates.map((u) => u.weight),
      };
    },
  };
}

export const normClippingRule: AggregationRule<"norm-clipping"> = {
  name: "norm-clipping",
  citation: "Sun et al., Can You Really Backdoor Federated Learning?, 2019",
  taskMode: true,
  // With a fixed bound trainers clip themselves (no circuit checks the norm yet: docs §8); the median norm
  // needs every update.
  provable: ({ clipBound }) => clipBound !== undefined,
  screensSingleUpdates: ({ clipBound }) => clipBound === undefined,
  create: ({ clipBound }) => normClippingAggregator(clipBound),
};
