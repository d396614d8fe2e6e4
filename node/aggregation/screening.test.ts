import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AggregationInputError,
  SAMPLE_COUNT_FLAG_FACTOR,
  bucketSizeFor,
  bucketingAggregator,
  createAggregator,
  fedAvgAggregator,
  multiKrumAggregator,
  screenUpdates,
  screenedMeanAggregator,
} from "./index.ts";

const u = (weight: number, ...values: number[]) => ({ update: Float32Array.from(values), weight });
const arr = (v: Float32Array) => Array.from(v, (x) => Math.round(x * 1e6) / 1e6);

describe("screened mean (the node's rule)", () => {
  const honest = [u(100, 1, 1, 0), u(100, 1.1, 0.9, 0.1), u(100, 0.9, 1.2, -0.1), u(100, 1, 1.1, 0)];

  it("rejects sign-flipped, boosted, zero and misaligned updates and averages the rest by sample count", () => {
    const updates = [
      ...honest,
      u(100, -1, -1, 0), // sign flip
      u(100, 50, 50, 0), // boosted
      u(100, 0, 0, 0), // free-rider
      u(100, 0.2, -0.15, 1.2), // near-orthogonal: positive cosine, far below the typical one
    ];
    const result = screenUpdates(updates);
    assert.deepEqual(result.rejected, [false, false, false, false, true, true, true, true]);
    assert.deepEqual(result.acceptedWeights, [100, 100, 100, 100, 0, 0, 0, 0]);
    const { aggregate, acceptedWeights } = screenedMeanAggregator.aggregate(updates);
    assert.deepEqual(acceptedWeights, result.acceptedWeights);
    assert.deepEqual(arr(aggregate), arr(fedAvgAggregator.aggregate(honest).aggregate));
    assert.equal(screenedMeanAggregator.provable, true);
  });

  it("flags implausible sample counts and down-weights every count to at most the median", () => {
    const updates = [u(100, 1, 1, 0), u(80, 1.1, 0.9, 0.1), u(120, 0.9, 1.2, -0.1), u(100_000, 1, 1.1, 0)];
    const result = screenUpdates(updates);
    // Median count (index 2 of the sorted counts) is 120; 100,000 > 3 × 120 is implausible.
    assert.deepEqual(result.sampleCountFlagged, [false, false, false, true]);
    assert.deepEqual(result.rejected, [false, false, false, false]);
    assert.deepEqual(result.acceptedWeights, [100, 80, 120, 120]);
    const expected = fedAvgAggregator.aggregate(
      updates.map((x, i) => ({ update: x.update, weight: result.acceptedWeights[i]! })),
    ).aggregate;
    assert.deepEqual(arr(screenedMeanAggregator.aggregate(updates).aggregate), arr(expected));
    // Without the cap the inflated node would have dominated the mean (its weight share ~0.997).
    const naive = fedAvgAggregator.aggregate(updates).aggregate;
    assert.ok(Math.abs(naive[2]! - 0) < 1e-3 && Math.abs(expected[2]! - 0) > 1e-3);
    assert.ok(SAMPLE_COUNT_FLAG_FACTOR > 1);
  });

  it("an inflated count still buys nothing when the update is also poisoned", () => {
    const result = screenUpdates([...honest, u(1e6, -1, -1, 0)]);
    assert.deepEqual(result.sampleCountFlagged, [false, false, false, false, true]);
    assert.equal(result.acceptedWeights[4], 0);
  });

  it("small groups (hierarchical fan-in 2) skip the relative checks: two honest updates both count", () => {
    // Cosines to the median (the mean of two): 0.32 and 0.95; a 5+ group would reject the first.
    const pair = [u(50, 1, 0, 0), u(60, 0, 3, 0)];
    assert.deepEqual(screenUpdates(pair).acceptedWeights, [50, 60]);
  });

  it("rejects bad input with a typed error; all-rejected rounds give all-zero weights", () => {
    assert.throws(() => screenUpdates([]), AggregationInputError);
    assert.throws(() => screenUpdates([u(-1, 1, 1)]), AggregationInputError);
    assert.throws(() => screenUpdates([u(Number.NaN, 1, 1)]), AggregationInputError);
    const zero = screenUpdates([u(10, 0, 0), u(10, 0, 0), u(10, 0, 0)]);
    assert.deepEqual(zero.acceptedWeights, [0, 0, 0]);
    assert.throws(() => screenedMeanAggregator.aggregate([u(10, 0, 0), u(10, 0, 0)]), AggregationInputError);
  });
});

describe("bucketing", () => {
  it("keeps s · f below n / 2 (no bucketing at 30% of 10 nodes)", () => {
    assert.equal(bucketSizeFor(10, 0), 2);
    assert.equal(bucketSizeFor(10, 1), 2);
    assert.equal(bucketSizeFor(10, 2), 2);
    assert.equal(bucketSizeFor(10, 3), 1);
    assert.equal(bucketSizeFor(100, 10), 2);
  });

  it("bucket means preserve the overall mean, and accepted weights map back to members", () => {
    const updates = [u(1, 0, 0), u(1, 2, 2), u(1, 4, 4), u(1, 6, 6)];
    const mean = bucketingAggregator(fedAvgAggregator, 2, 3).aggregate(updates);
    assert.deepEqual(arr(mean.aggregate), [3, 3]);
    assert.deepEqual(mean.acceptedWeights, [1, 1, 1, 1]);
    // Size-1 buckets are the inner rule itself: Multi-Krum keeping 8 drops the far-off pair.
    const ten = [...Array.from({ length: 8 }, (_, i) => u(1, i % 2, 0)), u(1, 100, 100), u(1, 100, 100)];
    const single = bucketingAggregator(multiKrumAggregator(1, 8), 1, 5).aggregate(ten);
    assert.deepEqual(single.acceptedWeights, [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    assert.deepEqual(arr(single.aggregate), [0.5, 0]);
    const bucketed = createAggregator("bucketed-centered-clipping", { n: 10, f: 1, seed: 1 }).aggregate(ten);
    assert.ok(Math.abs(bucketed.aggregate[0]! - 0.5) < 15, `${bucketed.aggregate[0]}`);
    assert.throws(() => bucketingAggregator(fedAvgAggregator, 0), AggregationInputError);
  });
});
