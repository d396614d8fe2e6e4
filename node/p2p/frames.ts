/**
 * Length-prefixed JSON control frames for vAIn's stream protocols. Every frame is bounded, parsed with a
 * zod schema and turned into a typed {@link MeshError} on any defect, so a peer's bytes can never throw
 * an untyped error into a protocol handler.
 */
import { lpStream } from "@libp2p/utils";
import type { LengthPrefixedStream } from "@libp2p/utils";
import type { Stream } from "@libp2p/interface";
import type { z } from "zod";

import { MeshError } from "./errors.ts";

/** Control frames are small; anything bigger is an attack or a bug. */
export const MAX_FRAME_BYTES = 64 * 1024;

export interface FrameStream {
  read<S extends z.ZodTypeAny>(schema: S, signal: AbortSignal): Promise<z.output<S>>;
  write(value: unknown, signal: AbortSignal): Promise<void>;
  readonly lp: LengthPrefixedStream<Stream>;
}

/** Wraps a stream for frame I/O; the same length-prefix reader must be used for every frame of the stream. */
export function frameStream(stream: Stream, maxFrameBytes = MAX_FRAME_BYTES): FrameStream {
  const lp = lpStream(stream, { maxDataLength: maxFrameBytes });
  return {
    lp,
    async read(schema, signal) {
      let bytes: Uint8Array;
      try {
        bytes = (await lp.read({ signal })).subarray();
      } catch (error) {
        throw toMeshError(error, signal);
      }
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
      return parsed.data as z.output<typeof schema>;
    },
    async write(value, signal) {
      const bytes = new TextEncoder().encode(JSON.stringify(value));
      if (bytes.length > maxFrameBytes) throw new MeshError("FRAME_TOO_LARGE", `frame of ${bytes.length} B`);
      try {
        await lp.write(bytes, { signal });
      } catch (error) {
        throw toMeshError(error, signal);
      }
    },
  };
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
