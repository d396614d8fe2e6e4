/**
 * Benchmark-only: the node's rule with each accepted update's input rows cut to the row's (t + 1)-th largest energy
 * before the mean (../silent-row-clip.ts), so a row the honest majority leaves silent does not move. Not provable:
 * the clipped vectors are not the committed ones (docs/protocol.md §8).
 */
import { guardedMeanTrustAggregator } from "./guarded-mean-trust.ts";
import type { AggregationRule } from "./types.ts";

/** The cut, a multiple of the row's (t + 1)-th largest energy: 1, the largest an honest majority-ish sets. */
export const ROW_CLIP_FACTOR = 1;

export const guardedMeanRowClipRule: AggregationRule<"guarded-mean-row-clip"> = {
  name: "guarded-mean-row-clip",
  citation:
    "the guarded mean with FLAME-style clipping (Nguyen et al., USENIX Security 2022) per input row, on the rows the honest majority leaves silent",
  taskMode: false,
  provable: () => false,
  screensSingleUpdates: () => true,
  create: ({ groups }) => {
    const rule = guardedMeanTrustAggregator({
      ...(groups === undefined ? {} : { groups }),
      rowClip: ROW_CLIP_FACTOR,
    });
    return { ...rule, name: "guarded-mean-row-clip", provable: false };
  },
};
