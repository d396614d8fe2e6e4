/**
 * The fixed-point encoding shared by commitments, the aggregator and the circuit (docs/protocol.md §4):
 * u = clamp(round(x · 2^12), -2^15, 2^15 - 1) + 2^15, a 16-bit unsigned integer. The floor-weighted average
 * of offset values is the offset of the floor-weighted average, so the aggregate is computed and proven in
 * this form, bit for bit.
 */
import { FRACTION_BITS, MAX_WEIGHT, VALUE_OFFSET } from "./constants.ts";
import { mapFloat32 } from "../core/vectors.ts";

const SCALE = 2 ** FRACTION_BITS;
const MIN_SIGNED = -VALUE_OFFSET;
const MAX_SIGNED = VALUE_OFFSET - 1;

/** Raised for weights or values the circuit cannot represent. */
export class FixedPointError extends RangeError {
  override readonly name = "FixedPointError";
  readonly code = "FIXED_POINT";
}

/** Encodes floats to offset fixed point (Uint16Array), clamping to the representable range. */
export function encodeFixedPoint(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new FixedPointError(`value at ${i} is not finite`);
    out[i] = Math.min(MAX_SIGNED, Math.max(MIN_SIGNED, Math.round(v * SCALE))) + VALUE_OFFSET;
  }
  return out;
}

/** Decodes offset fixed point to floats. */
export function decodeFixedPoint(values: Uint16Array): Float32Array {
  return mapFloat32(values, (u) => (u - VALUE_OFFSET) / SCALE);
}

/**
 * The exact aggregate the circuit checks: agg[j] = floor(Σ w_k u_k[j] / W), and the remainders.
 * All intermediate values stay below 2^53, so Number arithmetic is exact.
 */
export function aggregateFixedPoint(
  updates: readonly Uint16Array[],
  weights: readonly number[],
): { aggregate: Uint16Array; remainders: Float64Array; totalWeight: number } {
  if (updates.length === 0 || updates.length !== weights.length)
    throw new FixedPointError("need one weight per update");
  const size = updates[0]!.length;
  for (const w of weights) {
    if (!Number.isInteger(w) || w < 0 || w > MAX_WEIGHT)
      throw new FixedPointError(`weight ${w} outside [0, ${MAX_WEIGHT}]`);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 0) throw new FixedPointError("total weight is zero");
  const aggregate = new Uint16Array(size);
  const remainders = new Float64Array(size);
  for (let j = 0; j < size; j++) {
    let sum = 0;
    updates.forEach((u, k) => {
      if (u.length !== size) throw new FixedPointError("updates differ in length");
      sum += weights[k]! * u[j]!;
    });
    let q = Math.floor(sum / total);
    if (q * total > sum) q -= 1;
    if ((q + 1) * total <= sum) q += 1;
    aggregate[j] = q;
    remainders[j] = sum - q * total;
  }
  return { aggregate, remainders, totalWeight: total };
}
