import { mapFloat32 } from "../core/vectors.ts";
/**
 * The sparse, optionally quantized form of an update that travels on the wire.
 */

/** A sparse update: `indices` strictly increasing in [0, dimension). */
export interface SparseUpdate {
  readonly dimension: number;
  readonly indices: Uint32Array;
  /** Either float values, or quantized levels with the scale that maps them back. */
  readonly values: Float32Array | QuantizedValues;
}

/** QSGD levels: value = level / levels · norm, where `norm` is the scale (largest magnitude). */
export interface QuantizedValues {
  readonly bits: 2 | 4 | 8;
  /** Signed levels in [-(2^(bits-1) - 1), 2^(bits-1) - 1]. */
  readonly levels: Int8Array;
  readonly norm: number;
}

/** Number of positive quantization levels for a bit width (one bit is the sign). */
export function levelCount(bits: 2 | 4 | 8): number {
  return 2 ** (bits - 1) - 1;
}

/** Dense float values of a sparse update's entries. */
export function sparseValues(update: SparseUpdate): Float32Array {
  if (update.values instanceof Float32Array) return update.values;
  const { levels, norm, bits } = update.values;
  const s = levelCount(bits);
  return mapFloat32(levels, (l) => (l / s) * norm);
}

/** Expands a sparse update to a dense vector. */
export function densify(update: SparseUpdate): Float32Array {
  const dense = new Float32Array(update.dimension);
  const values = sparseValues(update);
  update.indices.forEach((index, i) => (dense[index] = values[i]!));
  return dense;
}
