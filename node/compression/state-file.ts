/**
 * A compressor's state as bytes, so a trainer's error-feedback residual and DGC velocity survive a restart
 * (without them, everything it had not yet sent is lost, and with momentum the first updates after a restart
 * come from a cold start):
 *
 *   magic "VC" | version u8 (1) | flags u8 (bit 0: velocity present) | dimension u32 LE |
 *   residual f32 LE × dimension | [velocity f32 LE × dimension] | crc32 u32 LE
 *
 * A torn or foreign file decodes to an `UpdateDecodeError`; the caller then starts from zero.
 */
import { crc32 } from "node:zlib";

import { UpdateDecodeError } from "./errors.ts";
import type { CompressorState } from "./topk.ts";
import { mapFloat32 } from "../core/vectors.ts";

const MAGIC = [0x56, 0x43] as const; // "VC"
const VERSION = 1;
const HEADER_BYTES = 8;

export function encodeCompressorState(state: CompressorState): Uint8Array {
  const n = state.residual.length;
  const vectors = state.velocity === undefined ? 1 : 2;
  const out = new Uint8Array(HEADER_BYTES + vectors * n * 4 + 4);
  const view = new DataView(out.buffer);
  out.set([...MAGIC, VERSION, vectors === 2 ? 1 : 0]);
  view.setUint32(4, n, true);
  const write = (vector: Float32Array, at: number) =>
    vector.forEach((v, i) => view.setFloat32(at + i * 4, v, true));
  write(state.residual, HEADER_BYTES);
  if (state.velocity !== undefined) write(state.velocity, HEADER_BYTES + n * 4);
  view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

/** The state saved in `bytes`, which must be for a model of `dimension` parameters. */
export function decodeCompressorState(bytes: Uint8Array, dimension: number): CompressorState {
  if (bytes.length < HEADER_BYTES + 4) throw new UpdateDecodeError("TRUNCATED", `only ${bytes.length} bytes`);
  if (bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1])
    throw new UpdateDecodeError("BAD_MAGIC", "not a compressor state");
  if (bytes[2] !== VERSION) throw new UpdateDecodeError("UNSUPPORTED_VERSION", `version ${bytes[2]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(4, true);
  if (n !== dimension) throw new UpdateDecodeError("MALFORMED", `dimension ${n}, expected ${dimension}`);
  const vectors = bytes[3] === 1 ? 2 : 1;
  if (bytes.length !== HEADER_BYTES + vectors * n * 4 + 4)
    throw new UpdateDecodeError("MALFORMED", `${bytes.length} bytes for dimension ${n}`);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== view.getUint32(bytes.length - 4, true))
    throw new UpdateDecodeError("BAD_CHECKSUM", "checksum mismatch");
  const read = (at: number) => mapFloat32({ length: n }, (_, i) => view.getFloat32(at + i * 4, true));
  const residual = read(HEADER_BYTES);
  return vectors === 2 ? { residual, velocity: read(HEADER_BYTES + n * 4) } : { residual };
}
