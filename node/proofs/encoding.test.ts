import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Rng } from "../core/rng.ts";
import {
  CHUNK_SIZE,
  FixedPointError,
  aggregateFixedPoint,
  chunkCount,
  commitEncoded,
  decodeFixedPoint,
  encodeFixedPoint,
  fieldToBytes32,
  merklePath,
  merkleRootFromPath,
  packChunk,
} from "./index.ts";
import { mapFloat32 } from "../core/vectors.ts";

describe("fixed-point encoding", () => {
  it("round-trips at 2^-12 resolution and clamps at the extremes", () => {
    const x = Float32Array.of(0, 1, -1, 0.000244140625, 7.9997, -8, 100, -100);
    const u = encodeFixedPoint(x);
    assert.deepEqual(Array.from(u), [32768, 36864, 28672, 32769, 65535, 0, 65535, 0]);
    assert.deepEqual(Array.from(decodeFixedPoint(u)).slice(0, 4), [0, 1, -1, 0.000244140625]);
    assert.throws(() => encodeFixedPoint(Float32Array.of(Number.NaN)), FixedPointError);
  });

  it("floor-averages offset values exactly (offset of the average = average of offsets)", () => {
    const rng = new Rng(2);
    for (let t = 0; t < 50; t++) {
      const k = 1 + rng.int(8);
      const updates = Array.from({ length: k }, () => Uint16Array.from({ length: 16 }, () => rng.int(65536)));
      const weights = Array.from({ length: k }, () => rng.int(65536));
      if (!weights.some((w) => w > 0)) weights[0] = 1;
      const { aggregate, remainders, totalWeight } = aggregateFixedPoint(updates, weights);
      for (let j = 0; j < 16; j++) {
        const sum = updates.reduce((s, u, i) => s + BigInt(weights[i]!) * BigInt(u[j]!), 0n);
        assert.equal(BigInt(aggregate[j]!) * BigInt(totalWeight) + BigInt(remainders[j]!), sum);
        assert.ok(remainders[j]! >= 0 && remainders[j]! < totalWeight);
      }
    }
    // Extremes: all maximal values with maximal weights.
    const max = aggregateFixedPoint(Array(8).fill(new Uint16Array(4).fill(65535)), Array(8).fill(65535));
    assert.deepEqual(Array.from(max.aggregate), [65535, 65535, 65535, 65535]);
    assert.throws(() => aggregateFixedPoint([new Uint16Array(1)], [65536]), FixedPointError);
    assert.throws(() => aggregateFixedPoint([new Uint16Array(1)], [0]), FixedPointError);
  });
});

describe("commitments", () => {
  it("packs 15 values per field element, little-endian", () => {
    const chunk = new Uint16Array(CHUNK_SIZE);
    chunk[0] = 1;
    chunk[1] = 2;
    chunk[15] = 3;
    const packed = packChunk(chunk);
    assert.equal(packed.length, Math.ceil(CHUNK_SIZE / 15));
    assert.equal(packed[0], 1n + (2n << 16n));
    assert.equal(packed[1], 3n);
  });

  it("opens every chunk against the root, and any change breaks the opening", async () => {
    const rng = new Rng(5);
    const encoded = encodeFixedPoint(mapFloat32({ length: 300 }, () => rng.normal() * 0.1));
    const c = await commitEncoded(encoded);
    assert.equal(c.chunkHashes.length, chunkCount(300));
    for (let i = 0; i < c.chunkHashes.length; i++) {
      assert.equal(merkleRootFromPath(fieldToBytes32(c.chunkHashes[i]!), i, merklePath(c.levels, i)), c.root);
    }
    encoded[70] = encoded[70]! ^ 1;
    assert.notEqual((await commitEncoded(encoded)).root, c.root);
  });
});
