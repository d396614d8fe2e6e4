import { mapFloat32 } from "./vectors.ts";
/**
 * Arithmetic on flat updates that both server-side training and robust aggregation build on: the weighted
 * mean (FedAvg, McMahan et al., "Communication-Efficient Learning of Deep Networks from Decentralized
 * Data", 2017), norms, clipping, differences. Here so neither `training/` nor `aggregation/` imports the
 * other.
 */

/** One client's contribution: its update (new local params minus the global params) and its weight. */
export interface WeightedUpdate {
  readonly update: Float32Array;
  readonly weight: number;
}

/** Raised for empty or mismatched inputs. */
export class AggregationInputError extends Error {
  override readonly name = "AggregationInputError";
  readonly code = "AGGREGATION_INPUT";
}

/** Weighted average of updates (FedAvg's aggregation step), weights usually sample counts. */
export function fedAvg(updates: readonly WeightedUpdate[]): Float32Array {
  if (updates.length === 0) throw new AggregationInputError("no updates to average");
  const size = updates[0]!.update.length;
  const total = updates.reduce((sum, u) => sum + u.weight, 0);
  if (!(total > 0)) throw new AggregationInputError("total weight must be positive");
  const out = new Float64Array(size);
  for (const { update, weight } of updates) {
    if (update.length !== size)
      throw new AggregationInputError(`update of length ${update.length}, expected ${size}`);
    if (!(weight >= 0)) throw new AggregationInputError(`negative weight ${weight}`);
    const w = weight / total;
    for (let i = 0; i < size; i++) out[i]! += w * update[i]!;
  }
  return Float32Array.from(out);
}

/** L2 norm. */
export function l2norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/** Scales `v` down to L2 norm at most `bound` (a copy). */
export function clipToNorm(v: Float32Array, bound: number): Float32Array {
  const norm = l2norm(v);
  if (norm <= bound || norm === 0) return Float32Array.from(v);
  const scale = bound / norm;
  return mapFloat32(v, (x) => x * scale);
}

/** `a - b`, elementwise. */
export function difference(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! - b[i]!;
  return out;
}
