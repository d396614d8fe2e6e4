/**
 * QSGD stochastic quantization (Alistarh et al., "QSGD: Communication-Efficient SGD via Gradient
 * Quantization and Encoding", NeurIPS 2017): each value is rounded at random to one of `s` levels of
 * |v_i| / scale, so the quantized vector is an unbiased estimate of the input.
 *
 * The scale is the largest magnitude (the ∞-norm variant, as in TernGrad) rather than the L2 norm: after
 * top-k selection the values are few and similar in size, and with the L2 norm most of them would round to
 * 0 or to one level several times their size, a variance that stalled training in bench:compression.
 */
import type { Rng } from "../core/rng.ts";
import { levelCount } from "./sparse.ts";
import type { QuantizedValues } from "./sparse.ts";

/** Quantizes `values` to `bits` (sign + levels); unbiased: E[dequantize(q)] = values. */
export function quantize(values: Float32Array, bits: 2 | 4 | 8, rng: Rng): QuantizedValues {
  let maxAbs = 0;
  for (const v of values) maxAbs = Math.max(maxAbs, Math.abs(v));
  // Rounded to float32 because that is what the wire carries: sender and receiver dequantize identically.
  const norm = Math.fround(maxAbs);
  const s = levelCount(bits);
  const levels = new Int8Array(values.length);
  if (norm === 0) return { bits, levels, norm: 0 };
  for (let i = 0; i < values.length; i++) {
    const scaled = (Math.abs(values[i]!) / norm) * s;
    const floor = Math.floor(scaled);
    const level = floor + (rng.next() < scaled - floor ? 1 : 0);
    levels[i] = Math.sign(values[i]!) * Math.min(level, s);
  }
  return { bits, levels, norm };
}
