import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Rng } from "../core/rng.ts";
import {
  TopKCompressor,
  UpdateDecodeError,
  decodeCompressorState,
  decodeSparseCodes,
  encodeCompressorState,
  encodeSparseCodes,
} from "./index.ts";
import { mapFloat32 } from "../core/vectors.ts";

const BACKGROUND = 32768;

describe("sparse aggregate wire format", () => {
  it("round-trips exactly and is small when few codes differ from the background", () => {
    const r = new Rng(3);
    const codes = new Uint16Array(100_000).fill(BACKGROUND);
    for (let k = 0; k < 2_000; k++) codes[r.int(codes.length)] = r.int(65_536);
    const bytes = encodeSparseCodes(codes, BACKGROUND);
    assert.deepEqual(decodeSparseCodes(bytes, codes.length), codes);
    assert.ok(bytes.length < 2_000 * 4 + 32, `${bytes.length} bytes`);
  });

  it("round-trips an all-background and a fully dense vector", () => {
    const empty = new Uint16Array(10).fill(BACKGROUND);
    assert.deepEqual(decodeSparseCodes(encodeSparseCodes(empty, BACKGROUND), 10), empty);
    const full = Uint16Array.from({ length: 300 }, (_, i) => i * 7);
    assert.deepEqual(decodeSparseCodes(encodeSparseCodes(full, BACKGROUND), 300), full);
  });

  it("refuses corrupted, truncated, foreign-size and trailing input with typed errors", () => {
    const codes = new Uint16Array(64).fill(BACKGROUND);
    codes[5] = 1;
    codes[63] = 2;
    const bytes = encodeSparseCodes(codes, BACKGROUND);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        assert.ok(error instanceof UpdateDecodeError);
        return error.code;
      }
      return "none";
    };
    const flipped = bytes.slice();
    flipped[8] = flipped[8]! ^ 1;
    assert.equal(
      code(() => decodeSparseCodes(flipped, 64)),
      "BAD_CHECKSUM",
    );
    assert.equal(
      code(() => decodeSparseCodes(bytes.subarray(0, 5), 64)),
      "TRUNCATED",
    );
    assert.equal(
      code(() => decodeSparseCodes(bytes, 65)),
      "MALFORMED",
    );
    assert.equal(
      code(() => decodeSparseCodes(Uint8Array.of(0x56, 0x55, ...bytes.subarray(2)), 64)),
      "BAD_MAGIC",
    );
  });
});

describe("compressor state file", () => {
  it("a restored compressor sends exactly what the original would have (residual and velocity)", () => {
    const r = new Rng(5);
    const updates = Array.from({ length: 4 }, () => mapFloat32({ length: 500 }, () => r.normal()));
    const options = { ratio: 0.02, momentum: 0.5, quantizeBits: 4 as const, seed: 9 };
    const original = new TopKCompressor(options);
    original.compress(updates[0]!);
    original.compress(updates[1]!);
    const saved = encodeCompressorState(original.state()!);
    const resumed = new TopKCompressor(options);
    resumed.restore(decodeCompressorState(saved, 500));
    // Same QSGD draws: the rng is seeded per compressor, so skip the two draws the original made.
    const fresh = new TopKCompressor(options);
    fresh.compress(updates[0]!);
    fresh.compress(updates[1]!);
    const a = original.compress(updates[2]!);
    const b = fresh.compress(updates[2]!);
    assert.deepEqual(a, b);
    const c = resumed.compress(updates[2]!);
    assert.deepEqual(Array.from(c.indices), Array.from(a.indices));
  });

  it("refuses a state for another model size or a torn file", () => {
    const state = encodeCompressorState({ residual: Float32Array.of(1, 2, 3) });
    assert.deepEqual(Array.from(decodeCompressorState(state, 3).residual), [1, 2, 3]);
    assert.throws(() => decodeCompressorState(state, 4), UpdateDecodeError);
    assert.throws(() => decodeCompressorState(state.subarray(0, state.length - 1), 3), UpdateDecodeError);
  });
});
