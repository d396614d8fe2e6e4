/**
 * Multi-Krum (the weighted mean of the n - f best-scored updates): Blanchard et al., NeurIPS 2017. Runs in the
 * node and is proven like Krum (krum.ts says why).
 */
import { KRUM_CITATION, multiKrumAggregator } from "./krum.ts";
import type { AggregationRule } from "./types.ts";

export const multiKrumRule: AggregationRule<"multi-krum"> = {
  name: "multi-krum",
  citation: KRUM_CITATION,
  taskMode: true,
  provable: () => true,
  screensSingleUpdates: () => true,
  create: ({ n, f }) => multiKrumAggregator(f, undefined, n),
};
