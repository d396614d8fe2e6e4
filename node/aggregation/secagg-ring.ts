/**
 * Secure aggregation's ring over the one fixed-point encoding of update values, which commitments and the
 * zk circuit share (docs/protocol.md §4, `node/proofs/fixed-point.ts`): u = clamp(round(x · 2^12), −2^15,
 * 2^15 − 1) + 2^15, a 16-bit offset value. Secure aggregation sums the weighted values w_k · u_k in the ring
 * Z/2^48, where pairwise masks cancel exactly; the unmasked sum is the integer Σ w_k · u_k[j] the circuit's
 * equation `agg · W + rem = Σ w_k · u_k` uses, so `decodeWeightedSum` returns the proof's aggregate bit for
 * bit.
 *
 * Why 2^48: Σ w_k · u_k < W · 2^16 with every weight below 2^16, so any total weight W < 2^32 (65,536
 * trainers at the maximum weight) fits without wrapping, and every ring element is an exact integer in a
 * JavaScript Number (< 2^53), so the ring arithmetic needs no BigInt.
 */
import { MAX_WEIGHT } from "../proofs/constants.ts";
import { FixedPointError, encodeFixedPoint } from "../proofs/fixed-point.ts";
import { mapFloat64 } from "../core/vectors.ts";

/** Bits of the secure-aggregation ring Z/2^RING_BITS. */
export const SECAGG_RING_BITS = 48;
export const SECAGG_RING_MODULUS = 2 ** SECAGG_RING_BITS;
/** Largest total weight whose weighted sums cannot wrap the ring (Σ w·u < W · 2^16 <= 2^48). */
export const SECAGG_MAX_TOTAL_WEIGHT = 2 ** (SECAGG_RING_BITS - 16);

/** (a + b) mod 2^48 for ring elements a, b in [0, 2^48): exact, the sum stays below 2^49. */
export function ringAdd(a: number, b: number): number {
  const s = a + b;
  return s >= SECAGG_RING_MODULUS ? s - SECAGG_RING_MODULUS : s;
}

/** (a − b) mod 2^48 for ring elements a, b in [0, 2^48). */
export function ringSub(a: number, b: number): number {
  const s = a - b;
  return s < 0 ? s + SECAGG_RING_MODULUS : s;
}

/** A trainer's weighted, encoded update as ring elements: w · u[j], with u the shared 16-bit encoding. */
export function weightedRingVector(values: Float32Array | Uint16Array, weight: number): Float64Array {
  if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT)
    throw new FixedPointError(`weight ${weight} outside [0, ${MAX_WEIGHT}]`);
  const encoded = values instanceof Uint16Array ? values : encodeFixedPoint(values);
  return mapFloat64(encoded, (u) => u * weight);
}

/**
 * Decodes an unmasked weighted sum S[j] = Σ w_k · u_k[j] into the proof's aggregate:
 * agg[j] = floor(S[j] / W) and rem[j] = S[j] − agg[j] · W, the values `aggregateFixedPoint` computes from the
 * individual updates (and the circuit checks).
 */
export function decodeWeightedSum(
  sum: Float64Array,
  totalWeight: number,
): { aggregate: Uint16Array; remainders: Float64Array } {
  if (!Number.isInteger(totalWeight) || totalWeight <= 0 || totalWeight > SECAGG_MAX_TOTAL_WEIGHT)
    throw new FixedPointError(`total weight ${totalWeight} outside [1, ${SECAGG_MAX_TOTAL_WEIGHT}]`);
  const aggregate = new Uint16Array(sum.length);
  const remainders = new Float64Array(sum.length);
  for (let j = 0; j < sum.length; j++) {
    const s = sum[j]!;
    const q = Math.floor(s / totalWeight);
    // Correct a possible off-by-one of the floating-point division (s < 2^48 is exact; s / W may round).
    const fixed = q * totalWeight > s ? q - 1 : (q + 1) * totalWeight <= s ? q + 1 : q;
    if (fixed > 0xffff)
      throw new FixedPointError(`sum ${s} at ${j} exceeds 16 bits × total weight ${totalWeight}`);
    aggregate[j] = fixed;
    remainders[j] = s - fixed * totalWeight;
  }
  return { aggregate, remainders };
}

/** Exposed for tests: the plain weighted sum Σ w_k · u_k the masked protocol must reproduce. */
export function plainWeightedSum(
  updates: readonly (Float32Array | Uint16Array)[],
  weights: readonly number[],
): Float64Array {
  const sum = new Float64Array(updates[0]!.length);
  updates.forEach((u, k) => {
    const v = weightedRingVector(u, weights[k]!);
    for (let j = 0; j < sum.length; j++) sum[j] = ringAdd(sum[j]!, v[j]!);
  });
  return sum;
}
