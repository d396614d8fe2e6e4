/**
 * Property-based tests (fast-check) of every frame decoder of the mesh: the bounded length prefix, the JSON
 * frame decoder with each protocol's schemas, the gossip envelope and Noise's frame decoder. Whatever the bytes,
 * a decoder returns a value within its bounds or throws its typed error; nothing else escapes. And over a real
 * libp2p stream pair, an oversized or endless length prefix fails at once, not at the protocol's deadline.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { streamPair } from "@libp2p/utils";
import fc from "fast-check";
import type { z } from "zod";

import { challengeSchema, responseSchema, verdictSchema } from "./admission/wire.ts";
import { ATTEST_FRAME_SCHEMAS } from "./attest/index.ts";
import { ackSchema, fetchHeaderSchema, fetchRequestSchema, pushHeaderSchema } from "./blobs.ts";
import { MeshError } from "./errors.ts";
import { boundedLengthDecoder, decodeFrame, frameStream, MAX_FRAME_BYTES } from "./frames.ts";
import { wireSchema } from "./gossip.ts";
import { NoiseFrameDecoder, NoiseFramingError } from "./noise-framing.ts";
import { pexAnswerSchema, pexRequestSchema } from "./pex.ts";

const RUNS = 300;

const list = (bytes: Uint8Array) => ({ byteLength: bytes.byteLength, get: (i: number) => bytes[i] ?? 0 });

function varint(value: number): Uint8Array {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return new Uint8Array(out);
}

const SCHEMAS: Record<string, z.ZodTypeAny> = {
  "admission challenge": challengeSchema,
  "admission response": responseSchema,
  "admission verdict": verdictSchema,
  "blob push header": pushHeaderSchema,
  "blob ack": ackSchema,
  "blob fetch request": fetchRequestSchema,
  "blob fetch header": fetchHeaderSchema,
  "pex request": pexRequestSchema,
  "pex answer": pexAnswerSchema,
  "gossip envelope": wireSchema,
  ...Object.fromEntries(
    Object.entries(ATTEST_FRAME_SCHEMAS).map(([name, schema]) => [`attest ${name}`, schema]),
  ),
};

describe("frame decoders under arbitrary input (fast-check)", () => {
  it("the length prefix decodes every valid length and fails early on anything longer or larger", () => {
    const decode = boundedLengthDecoder(MAX_FRAME_BYTES);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_FRAME_BYTES }), (n) => decode(list(varint(n))) === n),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), (bytes) => {
        try {
          const value = decode(list(bytes));
          return value >= 0 && value <= MAX_FRAME_BYTES;
        } catch (error) {
          if (error instanceof MeshError) return true;
          // "Need more bytes" only while every byte so far is a continuation byte, and at most 2 of them
          // (3 bytes encode any length up to 64 KiB).
          return error instanceof RangeError && bytes.length <= 2 && bytes.every((b) => b >= 0x80);
        }
      }),
      { numRuns: RUNS },
    );
  });

  for (const [name, schema] of Object.entries(SCHEMAS)) {
    it(`${name}: arbitrary bytes and JSON give a value or FRAME_MALFORMED`, () => {
      const check = (bytes: Uint8Array): boolean => {
        try {
          decodeFrame(bytes, schema);
          return true;
        } catch (error) {
          return error instanceof MeshError && error.code === "FRAME_MALFORMED";
        }
      };
      fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), check), { numRuns: RUNS });
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 6 }), (value) =>
          check(new TextEncoder().encode(JSON.stringify(value))),
        ),
        { numRuns: RUNS },
      );
    });
  }

  it("Noise's frame decoder yields frames within the Noise limit or throws NoiseFramingError", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 4096 }), { maxLength: 8 }), (chunks) => {
        const decoder = new NoiseFrameDecoder();
        try {
          for (const chunk of chunks)
            for (const frame of decoder.decode(chunk)) assert.ok(frame.byteLength <= 65_535);
          return true;
        } catch (error) {
          return error instanceof NoiseFramingError;
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("over a real stream, a 2^62 length prefix and an endless varint fail at once, not at the deadline", async () => {
    for (const prefix of [varint(2 ** 62), new Uint8Array(64).fill(0xff)]) {
      const [outbound, inbound] = await streamPair();
      const frames = frameStream(inbound);
      const started = performance.now();
      outbound.send(prefix);
      const error = await frames.read(pexRequestSchema, AbortSignal.timeout(10_000)).then(
        () => undefined,
        (e: unknown) => e,
      );
      const elapsedMs = performance.now() - started;
      assert.ok(error instanceof MeshError, String(error));
      assert.match(error.code, /FRAME_TOO_LARGE|FRAME_MALFORMED/);
      assert.ok(elapsedMs < 5_000, `failed after ${elapsedMs} ms`);
      outbound.abort(new Error("done"));
    }
  });
});
