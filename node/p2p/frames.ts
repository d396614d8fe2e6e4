/**
 * Length-prefixed JSON control frames for vAIn's stream protocols. Every frame is bounded, parsed with a
 * zod schema and turned into a typed {@link MeshError} on any defect, so a peer's bytes can never throw
 * an untyped error into a protocol handler.
 */
import { byteStream } from "@libp2p/utils";
import type { ByteStream } from "@libp2p/utils";
import type { Stream } from "@libp2p/interface";
import type { z } from "zod";

import { MeshError } from "./errors.ts";

/** Control frames are small; anything bigger is an attack or a bug. */
export const MAX_FRAME_BYTES = 64 * 1024;
/**
 * Bytes a stream's reader may hold unread. The muxer does not wait for us to read, so this bounds what a
 * peer can make us buffer before we look at its frames; raw bodies that follow a frame may need more (the
 * caller passes its own bound, known before the stream is opened).
 */
export const DEFAULT_READ_BUFFER_BYTES = 4 * 1024 * 1024;

export interface FrameStream {
  read<S extends z.ZodTypeAny>(schema: S, signal: AbortSignal): Promise<z.output<S>>;
  write(value: unknown, signal: AbortSignal): Promise<void>;
  /**
   * The byte reader under the frames. Raw bytes that follow a frame (a blob body) are read from it, so bytes
   * that arrived together with the frame are never lost, even when the peer has already closed its end.
   */
  readonly bytes: ByteStream<Stream>;
}

/** The bytes a length decoder sees: the prefix read so far. */
export interface ByteList {
  readonly byteLength: number;
  get(index: number): number;
}

/** Bytes of a varint that can encode `max` (7 bits per byte). */
function varintBytes(max: number): number {
  return Math.max(1, Math.ceil(Math.log2(max + 1) / 7));
}

/**
 * A varint length decoder that fails as soon as the prefix cannot be valid: at the first byte that makes the
 * length exceed `maxFrameBytes`, or once it is longer than any allowed length needs. lpStream's own decoder
 * checks only complete prefixes, so a 2^62 prefix or an endless run of continuation bytes was read (and
 * buffered) until the protocol's deadline. Throws RangeError only for "need more bytes".
 */
export function boundedLengthDecoder(maxFrameBytes: number): (buf: ByteList) => number {
  const maxBytes = varintBytes(maxFrameBytes);
  return (buf) => {
    let value = 0;
    for (let i = 0; i < buf.byteLength; i++) {
      const byte = buf.get(i);
      value += (byte & 0x7f) * 2 ** (7 * i);
      if (value > maxFrameBytes)
        throw new MeshError("FRAME_TOO_LARGE", `frame length exceeds ${maxFrameBytes} B`);
      if ((byte & 0x80) === 0) return value;
      if (i + 1 >= maxBytes)
        throw new MeshError("FRAME_MALFORMED", `frame length prefix longer than ${maxBytes} B`);
    }
    throw new RangeError("length prefix incomplete");
  };
}

/** The unsigned varint (LEB128) length prefix of a frame. */
function encodeLength(length: number): Uint8Array {
  const out: number[] = [];
  let rest = length;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return Uint8Array.from(out);
}

/**
 * Wraps a stream for frame I/O. One reader serves every frame and any raw body after them; `maxBufferBytes`
 * bounds what it may hold unread.
 */
export function frameStream(
  stream: Stream,
  maxFrameBytes = MAX_FRAME_BYTES,
  maxBufferBytes = DEFAULT_READ_BUFFER_BYTES,
): FrameStream {
  const bytes = byteStream(stream, { maxBufferSize: Math.max(maxBufferBytes, maxFrameBytes + 16) });
  const decodeLength = boundedLengthDecoder(maxFrameBytes);
  const readLength = async (signal: AbortSignal): Promise<number> => {
    const prefix: number[] = [];
    for (;;) {
      prefix.push((await bytes.read({ bytes: 1, signal })).get(0));
      try {
        return decodeLength({ byteLength: prefix.length, get: (index) => prefix[index] ?? 0 });
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
      }
    }
  };
  return {
    bytes,
    async read(schema, signal) {
      let payload: Uint8Array;
      try {
        const length = await readLength(signal);
        payload = (await bytes.read({ bytes: length, signal })).subarray();
      } catch (error) {
        throw toMeshError(error, signal);
      }
      return decodeFrame(payload, schema);
    },
    async write(value, signal) {
      const payload = new TextEncoder().encode(JSON.stringify(value));
      if (payload.length > maxFrameBytes)
        throw new MeshError("FRAME_TOO_LARGE", `frame of ${payload.length} B`);
      const prefix = encodeLength(payload.length);
      const frame = new Uint8Array(prefix.length + payload.length);
      frame.set(prefix);
      frame.set(payload, prefix.length);
      try {
        await bytes.write(frame, { signal });
      } catch (error) {
        throw toMeshError(error, signal);
      }
    },
  };
}

/** Parses one frame's bytes with `schema`; any defect is a FRAME_MALFORMED MeshError, never another error. */
export function decodeFrame<S extends z.ZodTypeAny>(bytes: Uint8Array, schema: S): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new MeshError("FRAME_MALFORMED", "frame is not UTF-8 JSON");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MeshError(
      "FRAME_MALFORMED",
      `frame invalid at ${issue?.path.join(".") || "root"}: ${issue?.message ?? "?"}`,
    );
  }
  return parsed.data as z.output<S>;
}

/** Maps libp2p/it errors (length limits, EOF, aborts) to mesh error codes. */
export function toMeshError(error: unknown, signal?: AbortSignal): MeshError {
  if (error instanceof MeshError) return error;
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  if (signal?.aborted === true || name === "AbortError" || name === "TimeoutError")
    return new MeshError("STREAM_TIMEOUT", "peer did not answer in time", { cause: error });
  if (
    name === "InvalidDataLengthError" ||
    name === "InvalidMessageLengthError" ||
    name === "InvalidDataLengthLengthError"
  )
    return new MeshError("FRAME_TOO_LARGE", `frame length rejected: ${message}`, { cause: error });
  if (name === "UnexpectedEOFError")
    return new MeshError("STREAM_TRUNCATED", "stream ended before the frame was complete", { cause: error });
  return new MeshError("PEER_UNREACHABLE", `stream failed: ${name || "Error"}: ${message}`, { cause: error });
}
