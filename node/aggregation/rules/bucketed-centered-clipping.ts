/**
 * Bucketing (Karimireddy, He, Jaggi, "Byzantine-Robust Learning on Heterogeneous Datasets via Bucketing",
 * ICLR 2022) before centered clipping: randomly group the updates into buckets, average each bucket, and
 * run the robust rule on the bucket means. Averaging shrinks the spread of honest non-IID updates, so rules
 * that judge "far from the others" stop mistaking heterogeneity for attacks, while at most f of the buckets
 * contain a Byzantine update. A benchmark rule (bench:robust), not offered to tasks.
 */
import { Rng } from "../../core/rng.ts";
import { AggregationInputError, fedAvg } from "../../core/updates.ts";
import type { WeightedUpdate } from "../../core/updates.ts";
import { CENTERED_CLIPPING_CITATION, centeredClippingAggregator } from "./centered-clipping.ts";
import type { AggregationRule, Aggregator } from "./types.ts";
import { DEFAULT_BUCKET_SIZE, DEFAULT_BUCKETING_SEED } from "../constants.ts";

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

/**
 * Wraps `inner` with bucketing. The permutation comes from a seeded generator advanced on every call, so a
 * run is reproducible and an attacker cannot predict its bucket-mates from the seed alone without the round
 * count. A bucket's weight is the sum of its members' weights; a member's accepted weight is its own weight
 * when its bucket was accepted, else 0.
 */
export function bucketingAggregator(
  inner: Aggregator,
  bucketSize: number,
  seed = DEFAULT_BUCKETING_SEED,
): Aggregator {
  if (!(Number.isInteger(bucketSize) && bucketSize >= 1))
    throw new AggregationInputError(`bucket size must be a positive integer, got ${bucketSize}`);
  const rng = new Rng(seed);
  return {
    name: `bucketing(${bucketSize})+${inner.name}`,
    provable: false,
    aggregate(updates) {
      if (updates.length === 0) throw new AggregationInputError("no updates to aggregate");
      const order = rng.shuffle(updates.map((_, i) => i));
      const buckets: number[][] = [];
      for (let start = 0; start < order.length; start += bucketSize)
        buckets.push(order.slice(start, start + bucketSize));
      const means: WeightedUpdate[] = buckets.map((members) => ({
        update: fedAvg(members.map((i) => ({ update: updates[i]!.update, weight: 1 }))),
        weight: members.reduce((s, i) => s + updates[i]!.weight, 0),
      }));
      const result = inner.aggregate(means);
      const acceptedWeights = new Array<number>(updates.length).fill(0);
      buckets.forEach((members, b) => {
        if (result.acceptedWeights[b]! > 0) for (const i of members) acceptedWeights[i] = updates[i]!.weight;
      });
      return { aggregate: result.aggregate, acceptedWeights };
    },
  };
}

export const bucketedCenteredClippingRule: AggregationRule<"bucketed-centered-clipping"> = {
  name: "bucketed-centered-clipping",
  citation: `Karimireddy, He, Jaggi, Byzantine-Robust Learning on Heterogeneous Datasets via Bucketing, ICLR 2022; ${CENTERED_CLIPPING_CITATION}`,
  taskMode: false,
  provable: () => false,
  screensSingleUpdates: () => true,
  create: ({ n, f, clipBound, seed }) =>
    bucketingAggregator(centeredClippingAggregator(clipBound), bucketSizeFor(n, f), seed),
};
