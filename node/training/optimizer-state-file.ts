/**
 * A node's local optimizer state (Adam's moments, SGD's velocity, and the step count Adam's bias correction
 * continues from) as bytes, so a restarted node resumes it instead of starting its moments from zero: after a
 * cold start Adam's first steps are full-size sign steps (m/√v ≈ ±1 for every weight), the jolt the network's
 * transformer nodes avoid by keeping the state between rounds (`TaskSpec.train.optimizer`).
 *
 *   magic "VS" | version u8 (1) | vectors u8 | dimension u32 LE | steps u32 LE |
 *   vector 0 f32 LE × dimension | … | crc32 u32 LE
 *
 * A torn, foreign or mismatched file decodes to an `OptimizerStateFileError`; the caller then starts from zero.
 */
import { crc32 } from "node:zlib";

import type { OptimizerState } from "./engine.ts";
import { mapFloat32 } from "../core/vectors.ts";

const MAGIC = [0x56, 0x53] as const; // "VS"
const VERSION = 1;
const HEADER_BYTES = 12;

/** Why saved optimizer state cannot be used. */
export class OptimizerStateFileError extends Error {
  override readonly name = "OptimizerStateFileError";
  readonly code: "TRUNCATED" | "BAD_MAGIC" | "UNSUPPORTED_VERSION" | "MISMATCH" | "BAD_CHECKSUM";

  constructor(code: OptimizerStateFileError["code"], message: string) {
    super(`optimizer state: ${message}`);
    this.code = code;
  }
}

export function encodeOptimizerState(state: OptimizerState): Uint8Array {
  const vectors = state.tensors.length;
  const n = state.tensors[0]?.length ?? 0;
  if (vectors > 255 || state.tensors.some((t) => t.length !== n))
    throw new RangeError("optimizer state vectors must all have the model's dimension");
  if (!Number.isInteger(state.steps) || state.steps < 0 || state.steps > 0xffff_ffff)
    throw new RangeError(`optimizer step count ${state.steps} out of range`);
  const out = new Uint8Array(HEADER_BYTES + vectors * n * 4 + 4);
  const view = new DataView(out.buffer);
  out.set([...MAGIC, VERSION, vectors]);
  view.setUint32(4, n, true);
  view.setUint32(8, state.steps, true);
  state.tensors.forEach((tensor, k) =>
    tensor.forEach((v, i) => view.setFloat32(HEADER_BYTES + (k * n + i) * 4, v, true)),
  );
  view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

/** The state saved in `bytes`, which must hold `vectors` vectors of `dimension` values (the task's optimizer). */
export function decodeOptimizerState(
  bytes: Uint8Array,
  expected: { readonly dimension: number; readonly vectors: number },
): OptimizerState {
  if (bytes.length < HEADER_BYTES + 4)
    throw new OptimizerStateFileError("TRUNCATED", `only ${bytes.length} bytes`);
  if (bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1])
    throw new OptimizerStateFileError("BAD_MAGIC", "not an optimizer state file");
  if (bytes[2] !== VERSION) throw new OptimizerStateFileError("UNSUPPORTED_VERSION", `version ${bytes[2]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vectors = bytes[3]!;
  const n = view.getUint32(4, true);
  if (bytes.length !== HEADER_BYTES + vectors * n * 4 + 4)
    throw new OptimizerStateFileError("TRUNCATED", `${bytes.length} bytes for ${vectors} × ${n} values`);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== view.getUint32(bytes.length - 4, true))
    throw new OptimizerStateFileError("BAD_CHECKSUM", "checksum mismatch");
  // Checked after the checksum: an intact file of another task (another model or optimizer) is not this one's.
  if (n !== expected.dimension || vectors !== expected.vectors)
    throw new OptimizerStateFileError(
      "MISMATCH",
      `${vectors} × ${n} values, the task's optimizer keeps ${expected.vectors} × ${expected.dimension}`,
    );
  const tensors = Array.from({ length: vectors }, (_, k) =>
    mapFloat32({ length: n }, (_, i) => view.getFloat32(HEADER_BYTES + (k * n + i) * 4, true)),
  );
  return { tensors, steps: view.getUint32(8, true) };
}
