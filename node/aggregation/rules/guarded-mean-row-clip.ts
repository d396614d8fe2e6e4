/**
 * Benchmark-only: the node's rule with each accepted update's input rows cut to the row's (t + 1)-th largest energy
 * before the mean (../silent-row-clip.ts), so a row the honest majority leaves silent does not move. Not provable:
 * the clipped vectors are not the committed ones (docs/protocol.md §8).
 */
import { GUARDED_MEAN_DEFAULTS } from "../guarded-mean-defaults.ts";
import { guardedMeanTrustAggregator } from "./guarded-mean-trust.ts";
import type { AggregationRule } from "./types.ts";

/**
 * The cut, a multiple of the row's (t + 1)-th largest energy: the guard's `silentRowFactor`, so exactly the energy
 * the guard counts as silent is cut. Measured (bench:robust --compress, 30% Dirichlet 0.5, seeds 1-3): at 1 every
 * row's three largest honest energies were cut too, and sign-flip cost 5.60 pt and label-flip 5.75 (1.20 and 2.15
 * on the node's rule); at 4 sign-flip 1.90 pt.
 */
export const ROW_CLIP_FACTOR = GUARDED_MEAN_DEFAULTS.silentRowFactor;

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
