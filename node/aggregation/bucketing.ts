/**
 * Bucketing (Karimireddy, He, Jaggi, "Byzantine-Robust Learning on Heterogeneous Datasets via Bucketing",
 * ICLR 2022): randomly group the updates into buckets of `bucketSize`, average each bucket, and run a
 * robust rule on the bucket means. Averaging shrinks the spread of honest non-IID updates, so rules that
 * judge "far from the others" (median, centered clipping) stop mistaking heterogeneity for attacks, while at
 * most f of the buckets contain a Byzantine update.
 */
import { Rng } from "../training/rng.ts";
import { fedAvg } from "../training/federated.ts";
import { AggregationInputError } from "./rules.ts";
import type { Aggregator, WeightedUpdate } from "./rules.ts";

/**
 * Wraps `inner` with bucketing. The permutation comes from a seeded generator advanced on every call, so a
 * run is reproducible and an attacker cannot predict its bucket-mates from the seed alone without the round
 * count. A bucket's weight is the sum of its members' weights; a member's accepted weight is its own weight
 * when its bucket was accepted, else 0.
 */
export function bucketingAggregator(inner: Aggregator, bucketSize: number, seed = 1): Aggregator {
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
