/**
 * The raw body of a blob stream (blobs.ts): written in chunks under backpressure and the operator's upload budget,
 * read into one preallocated buffer and hashed as it arrives.
 */
import type { Hash } from "node:crypto";

import type { ByteStream } from "@libp2p/utils";
import type { Stream } from "@libp2p/interface";

import type { RateLimiter } from "../resources/limits.ts";

/** Bytes handed to the muxer per write; small enough to interleave with other streams. */
const WRITE_CHUNK_BYTES = 256 * 1024;
/** Bytes read per step on the receiving side. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Writes `bytes` in chunks, waiting for the muxer to drain whenever it asks us to, and for the upload budget
 * (when the operator set one) before each chunk.
 */
export async function writeBody(
  stream: Stream,
  bytes: Uint8Array,
  signal: AbortSignal,
  limiter?: RateLimiter,
): Promise<void> {
  for (let offset = 0; offset < bytes.length; offset += WRITE_CHUNK_BYTES) {
    signal.throwIfAborted();
    const chunk = bytes.subarray(offset, Math.min(bytes.length, offset + WRITE_CHUNK_BYTES));
    if (limiter !== undefined) await limiter.take(chunk.byteLength, signal);
    if (!stream.send(chunk)) await stream.onDrain({ signal });
  }
}

/** Reads exactly `size` bytes from `reader` into one preallocated buffer, hashing them as they arrive. */
export async function readBody(
  reader: ByteStream<Stream>,
  size: number,
  signal: AbortSignal,
  hasher: Hash,
): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let offset = 0;
  while (offset < size) {
    const chunk = await reader.read({ bytes: Math.min(READ_CHUNK_BYTES, size - offset), signal });
    const bytes = chunk.subarray();
    out.set(bytes, offset);
    hasher.update(bytes);
    offset += bytes.byteLength;
  }
  return out;
}
