/**
 * Fixed-point encoding of update values for secure aggregation: value ↦ round(value · 2^16) as a 32-bit
 * two's-complement integer, summed modulo 2^32 so pairwise masks cancel exactly. With |value| < 2^15 / n
 * for n contributors the sum cannot wrap, so decoding the modular sum gives the exact fixed-point sum.
 */

/** Fractional bits: resolution 2^-16 ≈ 1.5e-5, far below the noise of an SGD update. */
export const FIXED_POINT_FRACTION_BITS = 16;
export const FIXED_POINT_SCALE = 2 ** FIXED_POINT_FRACTION_BITS;
/** Largest magnitude one value may have before encoding (the int32 range at this scale). */
export const FIXED_POINT_MAX_ABS = 2 ** 15 - 1;

/** Raised for values outside the encodable range (they would wrap and corrupt the sum). */
export class FixedPointRangeError extends RangeError {
  override readonly name = "FixedPointRangeError";
  readonly code = "FIXED_POINT_RANGE";
}

/** Encodes to int32 fixed point (as uint32 ring elements). */
export function encodeFixed(values: Float32Array, maxAbs = FIXED_POINT_MAX_ABS): Uint32Array {
  const out = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v) || Math.abs(v) > maxAbs)
      throw new FixedPointRangeError(`value ${v} at ${i} outside ±${maxAbs}`);
    out[i] = Math.round(v * FIXED_POINT_SCALE) >>> 0;
  }
  return out;
}

/** Decodes uint32 ring elements as int32 fixed point. */
export function decodeFixed(values: Uint32Array): Float32Array {
  return Float32Array.from(values, (v) => (v | 0) / FIXED_POINT_SCALE);
}
