/**
 * The guarded mean without trainer history (one round's guard only): the node's rule before per-trainer
 * trust, kept as a benchmark row so bench:robust shows what the history adds.
 */
import { guardedMeanAggregator } from "./guarded-mean.ts";
import type { AggregationRule } from "./types.ts";

export const guardedMeanMemorylessRule: AggregationRule<"guarded-mean-memoryless"> = {
  name: "guarded-mean-memoryless",
  citation: "the guarded mean's per-round guard alone (Yin et al. 2018; FLAME 2022; FoolsGold 2020)",
  taskMode: false,
  provable: () => true,
  screensSingleUpdates: () => true,
  create: ({ groups }) => {
    const rule = guardedMeanAggregator({}, groups);
    return { ...rule, name: "guarded-mean-memoryless" };
  },
};
