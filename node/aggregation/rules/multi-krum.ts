/** Multi-Krum (averages the n - f best-scored updates): Blanchard et al., NeurIPS 2017. */
import { KRUM_CITATION, multiKrumAggregator } from "./krum.ts";
import type { AggregationRule } from "./types.ts";

export const multiKrumRule: AggregationRule<"multi-krum"> = {
  name: "multi-krum",
  citation: KRUM_CITATION,
  taskMode: true,
  provable: () => false,
  screensSingleUpdates: () => true,
  create: ({ f }) => multiKrumAggregator(f),
};
