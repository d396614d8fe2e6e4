/**
 * Aggregators by name, for configuration and benchmarks. `screened-mean` is the node's rule (screening.ts);
 * `bucketed-centered-clipping` applies bucketing (bucketing.ts) before centered clipping, for non-IID data.
 */
import { bucketingAggregator } from "./bucketing.ts";
import {
  centeredClippingAggregator,
  fedAvgAggregator,
  medianAggregator,
  multiKrumAggregator,
  normClippingAggregator,
  trimmedMeanAggregator,
} from "./rules.ts";
import type { Aggregator } from "./rules.ts";
import { screenedMeanAggregator } from "./screening.ts";

export const AGGREGATOR_NAMES = [
  "fedavg",
  "median",
  "trimmed-mean",
  "krum",
  "multi-krum",
  "norm-clipping",
  "centered-clipping",
  "screened-mean",
  "bucketed-centered-clipping",
] as const;

export type AggregatorName = (typeof AGGREGATOR_NAMES)[number];

/**
 * Bucket size for the bucketed rules: 2, the paper's usual choice (larger buckets average away more
 * heterogeneity but contaminate more buckets).
 */
export const DEFAULT_BUCKET_SIZE = 2;

/**
 * The bucket size actually used: at most `n / (2f)` rounded down (at least 1), so that fewer than half of the
 * buckets can contain a Byzantine update (Karimireddy et al. 2022 need s · f < n / 2). At 30% Byzantine of 10
 * nodes this is 1, i.e. no bucketing.
 */
export function bucketSizeFor(n: number, f: number): number {
  if (f <= 0) return DEFAULT_BUCKET_SIZE;
  let s = Math.min(DEFAULT_BUCKET_SIZE, Math.floor(n / (2 * f)));
  while (s > 1 && s * f >= n / 2) s--;
  return Math.max(1, s);
}

/** An aggregator by name, configured for an assumed number of Byzantine nodes `f` out of `n`. */
export function createAggregator(
  name: AggregatorName,
  options: { n: number; f: number; clipBound?: number; seed?: number },
): Aggregator {
  switch (name) {
    case "fedavg":
      return fedAvgAggregator;
    case "median":
      return medianAggregator;
    case "trimmed-mean":
      return trimmedMeanAggregator(Math.min(0.49, options.f / Math.max(1, options.n)));
    case "krum":
      return multiKrumAggregator(options.f, 1);
    case "multi-krum":
      return multiKrumAggregator(options.f);
    case "norm-clipping":
      return normClippingAggregator(options.clipBound);
    case "centered-clipping":
      return centeredClippingAggregator(options.clipBound);
    case "screened-mean":
      return screenedMeanAggregator;
    case "bucketed-centered-clipping":
      return bucketingAggregator(
        centeredClippingAggregator(options.clipBound),
        bucketSizeFor(options.n, options.f),
        options.seed,
      );
  }
}
