import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { crc32 } from "node:zlib";

import { Rng } from "../core/rng.ts";
import {
  TopKCompressor,
  UpdateDecodeError,
  decodeUpdate,
  densify,
  encodeUpdate,
  quantize,
  topKIndices,
} from "./index.ts";
import { levelCount } from "./sparse.ts";
import type { SparseUpdate } from "./sparse.ts";
import { WIRE_VERSION, concat, writeVarint } from "./wire.ts";
import { mapFloat32 } from "../core/vectors.ts";

/** Version 1 of the wire format (LEB128 index gaps, packed levels), as nodes before version 2 wrote it. */
function encodeVersion1(update: SparseUpdate): Uint8Array {
  if (update.values instanceof Float32Array) throw new Error("quantized updates only");
  const { bits, levels, norm } = update.values;
  const header: number[] = [0x56, 0x55, 1, bits];
  writeVarint(header, update.dimension);
  writeVarint(header, update.indices.length);
  const scale = new Uint8Array(4);
  new DataView(scale.buffer).setFloat32(0, norm, true);
  const gaps: number[] = [];
  update.indices.forEach((index, i) => writeVarint(gaps, index - (i === 0 ? 0 : update.indices[i - 1]! + 1)));
  const packed = new Uint8Array(Math.ceil((levels.length * bits) / 8));
  levels.forEach((level, i) => (packed[(i * bits) >> 3]! |= (level & ((1 << bits) - 1)) << ((i * bits) & 7)));
  const body = concat([Uint8Array.from(header), scale, Uint8Array.from(gaps), packed]);
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32(body), true);
  return out;
}

describe("top-k with error feedback", () => {
  it("picks the largest magnitudes", () => {
    assert.deepEqual(Array.from(topKIndices(Float32Array.of(0.1, -5, 3, 0, -0.2), 2)), [1, 2]);
  });

  it("selects the same magnitudes as a full sort on random inputs with ties", () => {
    const r = new Rng(1);
    for (let t = 0; t < 200; t++) {
      const n = 1 + r.int(300);
      const k = 1 + r.int(n);
      const v = mapFloat32({ length: n }, () => Math.round(r.normal() * 4) / 4);
      const got = Array.from(topKIndices(v, k), (i) => Math.abs(v[i]!)).sort();
      const want = Array.from(v, Math.abs)
        .sort((a, b) => b - a)
        .slice(0, k)
        .sort();
      assert.deepEqual(got, want);
    }
  });

  it("keeps what it did not send and sends it later (error feedback)", () => {
    const c = new TopKCompressor({ ratio: 0.5 });
    const first = c.compress(Float32Array.of(4, 1, -3, 0.5));
    assert.deepEqual(Array.from(densify(first)), [4, 0, -3, 0]);
    const second = c.compress(Float32Array.of(0, 1, 0, 0.5));
    // residual was [0,1,0,0.5]; plus the new update → [0,2,0,1]: both sent now.
    assert.deepEqual(Array.from(densify(second)), [0, 2, 0, 1]);
  });

  it("bounds what it sends by its own update's top-k, and its residual by its own update (age bounds)", () => {
    const c = new TopKCompressor({ ratio: 0.25, sentNormCap: 2, residualNormCap: 4 });
    // Top-1 of 4: the 3 is sent, the residual is [0, 2, 2, 2].
    assert.deepEqual(Array.from(densify(c.compress(Float32Array.of(3, 2, 2, 2)))), [3, 0, 0, 0]);
    // Residual + update = [0, 3, 2, 2]: its top-1 (3) is over 2 × the update's own top-1 (1), so 2 is sent
    // and 1 stays; the residual [0, 1, 2, 2] (norm 3) is under 4 × the update's norm.
    assert.deepEqual(Array.from(densify(c.compress(Float32Array.of(0, 1, 0, 0)))), [0, 2, 0, 0]);
    assert.deepEqual(Array.from(c.state()!.residual), [0, 1, 2, 2]);
    // [0, 1, 2, 2.1]: 0.2 of the 2.1 is sent, and the residual [0, 1, 2, 1.9] (norm 2.93) is scaled down to
    // 4 × 0.1, its direction kept.
    assert.deepEqual(Array.from(densify(c.compress(Float32Array.of(0, 0, 0, 0.1)))), [
      0,
      0,
      0,
      Math.fround(0.2),
    ]);
    const residual = Array.from(c.state()!.residual);
    const norm = Math.hypot(...residual);
    assert.ok(Math.abs(norm - 0.4) < 1e-6, `residual norm ${norm}`);
    for (const [i, v] of [0, 1, 2, 1.9].entries())
      assert.ok(Math.abs(residual[i]! - (v * 0.4) / 2.934) < 1e-3);
  });

  it("sends its warm-up shares first, then its ratio, and skips the warm-up after a restore", () => {
    const update = mapFloat32({ length: 100 }, (_, i) => i + 1);
    const c = new TopKCompressor({ ratio: 0.05, warmupRatios: [0.2, 0.1] });
    assert.deepEqual(
      [1, 2, 3, 4].map(() => c.compress(update).indices.length),
      [20, 10, 5, 5],
    );
    const restarted = new TopKCompressor({ ratio: 0.05, warmupRatios: [0.2, 0.1] });
    restarted.restore(c.state()!);
    assert.equal(restarted.compress(update).indices.length, 5);
    assert.throws(() => new TopKCompressor({ ratio: 0.05, warmupRatios: [0] }), RangeError);
    // A warm-up below the ratio (a task that raised its ratio above the default warm-up) sends the ratio.
    assert.equal(new TopKCompressor({ ratio: 0.3, warmupRatios: [0.2] }).compress(update).indices.length, 30);
  });

  it("conserves the total: everything sent plus the residual equals everything given", () => {
    const rng = new Rng(3);
    const c = new TopKCompressor({ ratio: 0.1, quantizeBits: 4, seed: 5 });
    const total = new Float64Array(100);
    const sent = new Float64Array(100);
    for (let r = 0; r < 20; r++) {
      const u = mapFloat32({ length: 100 }, () => rng.normal());
      u.forEach((x, i) => (total[i]! += x));
      densify(c.compress(u)).forEach((x, i) => (sent[i]! += x));
    }
    // What was not sent is bounded by one round's residual: the bulk of the mass went through.
    const err = Math.hypot(...total.map((t, i) => t - sent[i]!));
    assert.ok(err < 0.6 * Math.hypot(...total), `residual ${err}`);
  });
});

describe("QSGD", () => {
  it("is unbiased: the mean of many quantizations approaches the input", () => {
    const rng = new Rng(9);
    const v = Float32Array.of(0.3, -0.7, 0.05, 0.9, -0.11);
    for (const bits of [2, 4, 8] as const) {
      const mean = new Float64Array(v.length);
      const trials = 4000;
      for (let t = 0; t < trials; t++) {
        const q = quantize(v, bits, rng);
        q.levels.forEach((l, i) => (mean[i]! += ((l / levelCount(bits)) * q.norm) / trials));
      }
      mean.forEach((m, i) =>
        assert.ok(Math.abs(m - v[i]!) < 0.03, `${bits} bits coordinate ${i}: ${m} vs ${v[i]}`),
      );
    }
  });
});

describe("wire format", () => {
  const rng = new Rng(1);
  const dense = mapFloat32({ length: 10_000 }, () => rng.normal());

  it("round-trips float and quantized updates and is small", () => {
    for (const bits of [undefined, 8, 4, 2] as const) {
      const sparse = new TopKCompressor({ ratio: 0.01, quantizeBits: bits }).compress(dense);
      const bytes = encodeUpdate(sparse);
      const back = decodeUpdate(bytes);
      assert.deepEqual(Array.from(back.indices), Array.from(sparse.indices));
      assert.deepEqual(Array.from(densify(back)), Array.from(densify(sparse)));
      assert.ok(bytes.length < (dense.length * 4) / 30, `${bits} bits: ${bytes.length} bytes`);
    }
  });

  it("rejects truncated, corrupted, oversized and malformed input with typed errors", () => {
    const bytes = encodeUpdate(new TopKCompressor({ ratio: 0.01, quantizeBits: 4 }).compress(dense));
    const expectCode = (input: Uint8Array, code: string, options?: { maxDimension?: number }) =>
      assert.throws(
        () => decodeUpdate(input, options),
        (e: unknown) => e instanceof UpdateDecodeError && e.code === code,
      );
    expectCode(bytes.subarray(0, 3), "TRUNCATED");
    const corrupted = Uint8Array.from(bytes);
    corrupted[20]! ^= 0xff;
    expectCode(corrupted, "BAD_CHECKSUM");
    const wrongMagic = Uint8Array.from(bytes);
    wrongMagic[0] = 0;
    expectCode(wrongMagic, "BAD_MAGIC");
    expectCode(bytes, "OVERSIZED", { maxDimension: 100 });
    const rng2 = new Rng(4);
    for (let t = 0; t < 200; t++) {
      const garbage = Uint8Array.from({ length: rng2.int(64) }, () => rng2.int(256));
      assert.throws(() => decodeUpdate(garbage), UpdateDecodeError);
    }
  });

  it("never fails but with UpdateDecodeError on a mutated body whose checksum was fixed", () => {
    const withCrc = (body: Uint8Array) => {
      const out = new Uint8Array(body.length + 4);
      out.set(body);
      new DataView(out.buffer).setUint32(body.length, crc32(body), true);
      return out;
    };
    const rng2 = new Rng(6);
    for (const bits of [undefined, 8, 4, 2] as const) {
      const bytes = encodeUpdate(new TopKCompressor({ ratio: 0.01, quantizeBits: bits }).compress(dense));
      const body = bytes.subarray(0, bytes.length - 4);
      for (let t = 0; t < 300; t++) {
        const mutated = Uint8Array.from(t % 3 === 0 ? body.subarray(0, rng2.int(body.length)) : body);
        if (t % 3 !== 0) mutated[rng2.int(mutated.length)]! ^= 1 << rng2.int(8);
        try {
          const update = decodeUpdate(withCrc(mutated));
          update.indices.forEach((index, i) => {
            assert.ok(index < update.dimension && (i === 0 || index > update.indices[i - 1]!));
          });
        } catch (e) {
          assert.ok(e instanceof UpdateDecodeError, String(e));
        }
      }
    }
  });

  it("codes a default-task update ~16% smaller than version 1, and still reads version 1", () => {
    // 4-bit levels bunch just above the top-k threshold: Huffman codes take them in fewer than 4 bits.
    const update = new TopKCompressor({ ratio: 0.0045, quantizeBits: 4 }).compress(
      mapFloat32({ length: 101_770 }, () => rng.normal()),
    );
    const v2 = encodeUpdate(update);
    assert.equal(v2[2], WIRE_VERSION);
    const v1 = encodeVersion1(update);
    assert.ok(v2.length < v1.length * 0.9, `${v2.length} vs ${v1.length} bytes`);
    for (const bytes of [v1, v2]) {
      const back = decodeUpdate(bytes);
      assert.deepEqual(Array.from(back.indices), Array.from(update.indices));
      assert.deepEqual(Array.from(densify(back)), Array.from(densify(update)));
    }
  });

  it("picks packed levels when Huffman codes would not save bits, and encodes an empty update", () => {
    const levels = Int8Array.from({ length: 30 }, (_, i) => (i % 15) - 7);
    const spread = {
      dimension: 100,
      indices: Uint32Array.from({ length: 30 }, (_, i) => i * 3),
      values: { bits: 4 as const, levels, norm: 1 },
    };
    const bytes = encodeUpdate(spread);
    // magic 2, version, kind, dimension 1, count 1, scale 4, Rice parameter: then the level coding, 0 = packed.
    assert.equal(bytes[11], 0);
    assert.deepEqual(Array.from(densify(decodeUpdate(bytes))), Array.from(densify(spread)));
    const empty = {
      dimension: 10,
      indices: new Uint32Array(0),
      values: { bits: 4 as const, levels: new Int8Array(0), norm: 0 },
    };
    assert.equal(decodeUpdate(encodeUpdate(empty)).indices.length, 0);
  });
});
