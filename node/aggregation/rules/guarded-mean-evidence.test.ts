/** The node's rule reports, per update, the measurements behind its verdict, for the aggregator's log. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { guardedMeanTrustAggregator } from "./guarded-mean-trust.ts";
import { mapFloat32 } from "../../core/vectors.ts";

/** Deterministic pseudo-random numbers in [-1, 1). */
function noise(seed: number, n: number): Float32Array {
  let x = seed;
  return mapFloat32({ length: n }, () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return (x / 2_147_483_648) * 2 - 1;
  });
}

describe("guarded mean evidence", () => {
  it("names the norm ratio of an update rejected for its norm, and says nothing new of the others", () => {
    const dimension = 256;
    const base = noise(1, dimension);
    const honest = Array.from({ length: 6 }, (_, i) => {
      const jitter = noise(100 + i, dimension);
      return mapFloat32(base, (v, j) => v + 0.3 * jitter[j]!);
    });
    const boosted = mapFloat32(honest[0]!, (v) => v * 10);
    const updates = [...honest, boosted].map((update) => ({ update, weight: 100 }));
    const trainers = updates.map((_, i) => `t${i}`);
    const result = guardedMeanTrustAggregator().aggregate(updates, { trainers });
    assert.deepEqual(result.reasons?.[6], ["norm"]);
    assert.equal(result.acceptedWeights[6], 0);
    assert.equal(result.evidence?.length, updates.length);
    const ratio = Number(/^norm ([\d.]+)x the median/.exec(result.evidence![6]!)?.[1]);
    assert.ok(ratio > 9 && ratio < 11, result.evidence![6]);
    for (let i = 0; i < 6; i++) {
      assert.deepEqual(result.reasons?.[i], [], `honest update ${i}: ${result.evidence![i]}`);
      assert.match(result.evidence![i]!, /^norm (0\.9|1\.0|1\.1)\dx the median, cosine 0\.\d\d/);
    }
  });
});
