/**
 * A trainer's update before compression: `local − base`, optionally privatized (L2 clip + Gaussian noise,
 * docs/protocol.md §8) and clipped to the fixed-point range, so what it commits is exactly what the
 * aggregator reconstructs. Noise is drawn from a cryptographic seed: a predictable seed would let anyone
 * subtract it. `commitUpdateBytes` is the one path from an update's wire bytes to its commitment, shared by
 * the trainer, the aggregator and the watcher so all three compute the same values.
 */
import { randomInt } from "node:crypto";

import { privatizeUpdate } from "../privacy/differential-privacy.ts";
import type { DpOptions } from "../privacy/differential-privacy.ts";
import { UpdateDecodeError, decodeUpdate, densify } from "../compression/index.ts";
import { commitEncoded, encodeFixedPoint } from "../proofs/index.ts";
import type { CommitPriority, UpdateCommitment } from "../proofs/index.ts";
import { Rng } from "../core/rng.ts";
import { difference } from "../core/updates.ts";

/** Fixed point covers (-8, 8): larger values are clipped before compression so the commitment is exact. */
export const DELTA_CLIP = 7.99;

export interface DeltaOptions {
  readonly dp?: DpOptions;
  /** Demo and test adversaries only (node/adversary): rewrites the raw delta before privacy and clipping. */
  readonly transform?: (delta: Float32Array) => Float32Array;
}

export function trainerDelta(
  local: Float32Array,
  base: Float32Array,
  options: DeltaOptions = {},
): Float32Array {
  if (local.length !== base.length)
    throw new RangeError(`model sizes differ: ${local.length} != ${base.length}`);
  let delta: Float32Array = difference(local, base);
  if (options.transform !== undefined) delta = options.transform(delta);
  if (options.dp !== undefined) delta = privatizeUpdate(delta, options.dp, new Rng(randomInt(2 ** 32)));
  for (let i = 0; i < delta.length; i++) delta[i] = Math.max(-DELTA_CLIP, Math.min(DELTA_CLIP, delta[i]!));
  return delta;
}

/** An update's fixed-point values (what aggregation and proofs use) and their commitment. */
export interface CommittedUpdate {
  readonly encoded: Uint16Array;
  readonly commitment: UpdateCommitment;
}

/**
 * Decodes an update's wire bytes, densifies and encodes them in fixed point, and commits to the result.
 * Throws `UpdateDecodeError` for bytes that are not an update of exactly `dimension` parameters. `priority`: the
 * commitment pool's queue (`urgent` when a round waits on this check, commit-pool.ts).
 */
export async function commitUpdateBytes(
  bytes: Uint8Array,
  dimension: number,
  priority: CommitPriority = "background",
): Promise<CommittedUpdate> {
  const dense = densify(decodeUpdate(bytes, { maxDimension: dimension }));
  if (dense.length !== dimension)
    throw new UpdateDecodeError("MALFORMED", `dimension ${dense.length} != ${dimension}`);
  const encoded = encodeFixedPoint(dense);
  return { encoded, commitment: await commitEncoded(encoded, priority) };
}
