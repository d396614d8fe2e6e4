import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Rng } from "../core/rng.ts";
import { fedAvg } from "../core/updates.ts";
import { FixedPointError, aggregateFixedPoint, encodeFixedPoint } from "../proofs/fixed-point.ts";
import {
  IncompatibleModesError,
  SecureAggregationError,
  decodeWeightedSum,
  plainWeightedSum,
  ringAdd,
  ringSub,
  capSampleCounts,
  centeredClippingAggregator,
  fedAvgAggregator,
  generateKeyPair,
  isProvable,
  krumByzantineCount,
  krumScores,
  maskUpdate,
  medianAggregator,
  multiKrumAggregator,
  normClippingAggregator,
  reconstructSecret,
  scoreUpdates,
  shareSecret,
  trimmedMeanAggregator,
  unmaskSum,
  validateAggregationMode,
} from "./index.ts";
import { createAggregator } from "./rules/index.ts";
import { mapFloat32 } from "../core/vectors.ts";

const u = (...values: number[]) => ({ update: Float32Array.from(values), weight: 1 });
const arr = (v: Float32Array) => Array.from(v, (x) => Math.round(x * 1e6) / 1e6);

describe("aggregation rules on hand-computed vectors", () => {
  const updates = [u(1, 10), u(2, 20), u(3, 30), u(100, -1000)];

  it("FedAvg weights by samples", () => {
    assert.deepEqual(
      arr(
        fedAvgAggregator.aggregate([
          { update: Float32Array.of(1), weight: 1 },
          { update: Float32Array.of(3), weight: 3 },
        ]).aggregate,
      ),
      [2.5],
    );
  });

  it("median", () => {
    assert.deepEqual(arr(medianAggregator.aggregate(updates).aggregate), [2.5, 15]);
    assert.deepEqual(arr(medianAggregator.aggregate(updates.slice(0, 3)).aggregate), [2, 20]);
  });

  it("trimmed mean drops the extremes of each coordinate", () => {
    assert.deepEqual(arr(trimmedMeanAggregator(0.25).aggregate(updates).aggregate), [2.5, 15]);
    assert.throws(() => trimmedMeanAggregator(0.5));
  });

  it("Krum picks the most central update and rejects the outlier", () => {
    const five = [u(0, 0), u(1, 0), u(0, 1), u(1, 1), u(50, 50)];
    const scores = krumScores(five, 1); // sum of the 2 nearest squared distances
    assert.deepEqual(scores.slice(0, 4), [2, 2, 2, 2]);
    const krum = multiKrumAggregator(1, 1).aggregate(five);
    assert.deepEqual(arr(krum.aggregate), [0, 0]);
    const multi = multiKrumAggregator(1).aggregate(five);
    assert.deepEqual(arr(multi.aggregate), [0.5, 0.5]);
    assert.deepEqual(multi.acceptedWeights, [1, 1, 1, 1, 0]);
    assert.throws(() => krumScores(five.slice(0, 4), 1), /n >= 2f \+ 3/);
  });

  it("Krum and Multi-Krum as node rules: the posted weighted mean of the selection, f scaled to the group", () => {
    // Counts are claims: the outlier's is ignored (weight 0), and the large honest claim is capped at the median.
    const counted = [
      { update: Float32Array.of(0, 0), weight: 10 },
      { update: Float32Array.of(1, 0), weight: 40 },
      { update: Float32Array.of(0, 1), weight: 10 },
      { update: Float32Array.of(1, 1), weight: 20 },
      { update: Float32Array.of(50, 50), weight: 1_000 },
    ];
    const multi = createAggregator("multi-krum", { n: 5, f: 1 }).aggregate(counted);
    assert.deepEqual(multi.acceptedWeights, [10, 20, 10, 20, 0], "40 capped at the median count, 20");
    assert.deepEqual(multi.reasons, [[], [], [], [], ["krum-score"]]);
    // What the round posts and the circuit proves: the mean under the accepted weights, equal to the output.
    const posted = fedAvg(counted.map((c, i) => ({ update: c.update, weight: multi.acceptedWeights[i]! })));
    assert.deepEqual(arr(multi.aggregate), arr(posted));
    const krum = createAggregator("krum", { n: 5, f: 1 }).aggregate(counted);
    assert.equal(krum.acceptedWeights.filter((w) => w > 0).length, 1, "Krum keeps one update");
    assert.equal(krum.acceptedWeights[4], 0);
    const kept = krum.acceptedWeights.findIndex((w) => w > 0);
    assert.deepEqual(arr(krum.aggregate), arr(counted[kept]!.update));
    // f = 3 assumed for 10 updates: 1 in a group of 5, 0 in a group of 4 (n >= 2f + 3), 2 in a group of 8.
    assert.equal(krumByzantineCount(5, 3, 10), 1);
    assert.equal(krumByzantineCount(4, 3, 10), 0);
    assert.equal(krumByzantineCount(8, 3, 10), 2);
    assert.equal(krumByzantineCount(10, 3, 10), 3);
    const smaller = createAggregator("multi-krum", { n: 10, f: 3 }).aggregate(counted.slice(0, 4));
    assert.deepEqual(smaller.acceptedWeights, [10, 20, 10, 20], "a group of 4 assumes no attacker");
    for (const rule of ["krum", "multi-krum"] as const) {
      assert.equal(isProvable(validateAggregationMode({ rule })), true, rule);
      assert.throws(
        () => validateAggregationMode({ rule, secureAggregation: true }),
        IncompatibleModesError,
        `${rule} needs every update in the clear`,
      );
    }
  });

  it("norm clipping scales large updates to the bound", () => {
    const out = normClippingAggregator(1).aggregate([u(3, 4), u(0, 0)]).aggregate;
    assert.deepEqual(arr(out), [0.3, 0.4]);
  });

  it("centered clipping stays near the honest cluster", () => {
    const out = centeredClippingAggregator().aggregate(updates).aggregate;
    assert.ok(Math.abs(out[0]! - 2) < 2 && Math.abs(out[1]! - 20) < 15, `${out}`);
  });
});

describe("anomaly scores", () => {
  it("flags boosted, flipped and zero updates, and caps inflated sample counts", () => {
    const honest = [u(1, 1), u(1.1, 0.9), u(0.9, 1.2)];
    const scores = scoreUpdates([...honest, u(50, 50), u(-1, -1), u(0, 0)], Float32Array.of(1, 1));
    assert.deepEqual(
      scores.map((s) => s.suspicious),
      [false, false, false, true, true, true],
    );
    const capped = capSampleCounts([100, 120, 90, 10_000]);
    assert.deepEqual(capped.flagged, [false, false, false, true]);
    assert.equal(capped.weights[3], 360);
  });
});

describe("secure aggregation on the proofs' fixed-point encoding", () => {
  const rng = new Rng(11);
  const n = 5;
  const size = 64;
  const updates = Array.from({ length: n }, () => mapFloat32({ length: size }, () => rng.normal()));
  // Public on-chain weights (capped sample counts), up to the circuit's 16-bit maximum.
  const weights = [812, 65_535, 1, 433, 2_048];
  const keys = Array.from({ length: n }, generateKeyPair);
  const publicKeys = keys.map((k) => k.publicKey);
  const round = 42n;
  const exactSum = (idx: readonly number[]) =>
    Array.from({ length: size }, (_, j) =>
      idx.reduce((s, k) => s + BigInt(weights[k]!) * BigInt(encodeFixedPoint(updates[k]!)[j]!), 0n),
    );

  it("masks cancel bit for bit: the unmasked sum is Σ w·u and decodes to the proof's aggregate", () => {
    const masked = new Map(
      updates.map((up, i) => [i, maskUpdate(up, weights[i]!, i, keys[i]!, publicKeys, round)] as const),
    );
    const sum = unmaskSum(masked, publicKeys, new Map(), round);
    assert.deepEqual(Array.from(sum, BigInt), exactSum([0, 1, 2, 3, 4]));
    assert.deepEqual(sum, plainWeightedSum(updates, weights));
    const total = weights.reduce((a, b) => a + b, 0);
    const proof = aggregateFixedPoint(updates.map(encodeFixedPoint), weights);
    const decoded = decodeWeightedSum(sum, total);
    assert.deepEqual(decoded.aggregate, proof.aggregate);
    assert.deepEqual(decoded.remainders, proof.remainders);
  });

  it("a single masked update reveals nothing usable", () => {
    const alone = maskUpdate(updates[0]!, weights[0]!, 0, keys[0]!, publicKeys, round);
    const plain = plainWeightedSum([updates[0]!], [weights[0]!]);
    // Masked values are spread over the whole 2^48 ring, the plain ones sit below 2^32.
    assert.ok(alone.filter((x) => x >= 2 ** 32).length > size * 0.9);
    assert.notDeepEqual(alone, plain);
  });

  it("recovers the exact weighted sum when participants drop out after masking, from threshold shares", () => {
    const threshold = 3;
    const shares = keys.map((k) => shareSecret(k.secretKey, n, threshold));
    const dropped = [1, 3];
    const survivors = [0, 2, 4];
    const masked = new Map(
      survivors.map(
        (i) => [i, maskUpdate(updates[i]!, weights[i]!, i, keys[i]!, publicKeys, round)] as const,
      ),
    );
    const rebuilt = new Map(
      dropped.map((d) => [d, reconstructSecret(survivors.map((s) => shares[d]![s]!))] as const),
    );
    assert.deepEqual(rebuilt.get(1), keys[1]!.secretKey);
    const sum = unmaskSum(masked, publicKeys, rebuilt, round);
    assert.deepEqual(Array.from(sum, BigInt), exactSum(survivors));
    const survivorWeights = survivors.map((i) => weights[i]!);
    const proof = aggregateFixedPoint(
      survivors.map((i) => encodeFixedPoint(updates[i]!)),
      survivorWeights,
    );
    const decoded = decodeWeightedSum(
      sum,
      survivorWeights.reduce((a, b) => a + b, 0),
    );
    assert.deepEqual(decoded.aggregate, proof.aggregate);
    assert.deepEqual(decoded.remainders, proof.remainders);
  });

  it("ring arithmetic wraps exactly at 2^48 and bad inputs raise typed errors", () => {
    assert.equal(ringAdd(2 ** 48 - 1, 1), 0);
    assert.equal(ringSub(0, 1), 2 ** 48 - 1);
    assert.equal(ringAdd(ringSub(12345, 2 ** 47 + 3), 2 ** 47 + 3), 12345);
    assert.throws(() => maskUpdate(updates[0]!, 65_536, 0, keys[0]!, publicKeys, round), FixedPointError);
    assert.throws(() => maskUpdate(updates[0]!, 1.5, 0, keys[0]!, publicKeys, round), FixedPointError);
    assert.throws(() => decodeWeightedSum(Float64Array.of(10), 0), FixedPointError);
    assert.throws(() => decodeWeightedSum(Float64Array.of(2 ** 20), 1), FixedPointError);
    assert.throws(
      () => unmaskSum(new Map([[0, Float64Array.of(-1)]]), publicKeys, new Map(), round),
      SecureAggregationError,
    );
  });

  it("fewer than threshold shares do not rebuild a key", () => {
    const shares = shareSecret(keys[0]!.secretKey, n, 3);
    assert.notDeepEqual(reconstructSecret(shares.slice(0, 2)), keys[0]!.secretKey);
  });
});

describe("mode validation", () => {
  it("refuses per-update robust rules under secure aggregation", () => {
    assert.throws(
      () => validateAggregationMode({ rule: "krum", secureAggregation: true }),
      IncompatibleModesError,
    );
    assert.throws(
      () => validateAggregationMode({ rule: "norm-clipping", secureAggregation: true }),
      IncompatibleModesError,
    );
    assert.equal(
      validateAggregationMode({ rule: "norm-clipping", secureAggregation: true, clipBound: 1 }).rule,
      "norm-clipping",
    );
    assert.equal(validateAggregationMode({ rule: "median" }).secureAggregation, false);
    assert.throws(
      () => validateAggregationMode({ rule: "screened-mean", secureAggregation: true }),
      IncompatibleModesError,
    );
    assert.equal(isProvable(validateAggregationMode({ rule: "screened-mean" })), true);
    assert.equal(
      isProvable(validateAggregationMode({ rule: "fedavg", secureAggregation: true })),
      false,
      "the circuit needs the individual updates, hidden under secure aggregation",
    );
  });
});
