/**
 * A trainer's update before compression: `local − base`, optionally privatized (L2 clip + Gaussian noise,
 * docs/protocol.md §8) and clipped to the fixed-point range, so what it commits is exactly what the
 * aggregator reconstructs. Noise is drawn from a cryptographic seed: a predictable seed would let anyone
 * subtract it.
 */
import { randomInt } from "node:crypto";

import { privatizeUpdate } from "../aggregation/privacy.ts";
import type { DpOptions } from "../aggregation/privacy.ts";
import { Rng } from "../training/rng.ts";

/** Fixed point covers (-8, 8): larger values are clipped before compression so the commitment is exact. */
export const DELTA_CLIP = 7.99;

export interface DeltaOptions {
  readonly dp?: DpOptions;
  /** Demo and test adversaries only: multiply the update (−4 flips its sign, 10 boosts it). */
  readonly scale?: number;
}

export function trainerDelta(
  local: Float32Array,
  base: Float32Array,
  options: DeltaOptions = {},
): Float32Array {
  if (local.length !== base.length)
    throw new RangeError(`model sizes differ: ${local.length} != ${base.length}`);
  const scale = options.scale ?? 1;
  let delta: Float32Array = Float32Array.from(local, (value, i) => (value - base[i]!) * scale);
  if (options.dp !== undefined) delta = privatizeUpdate(delta, options.dp, new Rng(randomInt(2 ** 32)));
  for (let i = 0; i < delta.length; i++) delta[i] = Math.max(-DELTA_CLIP, Math.min(DELTA_CLIP, delta[i]!));
  return delta;
}
