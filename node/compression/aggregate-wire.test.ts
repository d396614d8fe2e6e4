import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { crc32 } from "node:zlib";

import { Rng } from "../core/rng.ts";
import { aggregateFixedPoint, encodeFixedPoint } from "../proofs/fixed-point.ts";
import { AGGREGATE_WIRE_VERSION, MAX_VALUE_SYMBOLS } from "./aggregate-wire.ts";
import { TopKCompressor, UpdateDecodeError, decodeSparseCodes, densify, encodeSparseCodes } from "./index.ts";
import { concat, writeVarint } from "./wire.ts";
import { mapFloat32 } from "../core/vectors.ts";

const BACKGROUND = 32768;
/** The default task's MLP (784-128-10). */
const DIMENSION = 101_770;

/** Version 1 of the aggregate form (LEB128 index gaps, zigzag varint values), as nodes before version 2 wrote it. */
function encodeVersion1(codes: Uint16Array, background: number): Uint8Array {
  const header: number[] = [0x56, 0x41, 1];
  writeVarint(header, codes.length);
  header.push(background & 0xff, background >> 8);
  const indices = [...codes.keys()].filter((i) => codes[i] !== background);
  writeVarint(header, indices.length);
  const gaps: number[] = [];
  const values: number[] = [];
  indices.forEach((index, i) => {
    writeVarint(gaps, index - (i === 0 ? 0 : indices[i - 1]! + 1));
    const d = codes[index]! - background;
    writeVarint(values, d >= 0 ? d * 2 : -d * 2 - 1);
  });
  const body = concat([Uint8Array.from(header), Uint8Array.from(gaps), Uint8Array.from(values)]);
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32(body), true);
  return out;
}

/** A flat round's aggregate of 8 default-task updates (top-k 0.6%, 4-bit), in fixed point as the circuit proves it. */
function defaultTaskAggregate(seed: number): Uint16Array {
  const rng = new Rng(seed);
  const updates = Array.from({ length: 8 }, (_, t) => {
    const compressor = new TopKCompressor({ ratio: 0.006, quantizeBits: 4, seed: t + 1 });
    const scale = 0.002 * (1 + rng.next());
    return encodeFixedPoint(
      densify(compressor.compress(mapFloat32({ length: DIMENSION }, () => rng.normal() * scale))),
    );
  });
  const weights = updates.map(() => 6_000 + rng.int(1_000));
  return aggregateFixedPoint(updates, weights).aggregate;
}

const withCrc = (body: Uint8Array) => {
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32(body), true);
  return out;
};

describe("aggregate wire format, version 2", () => {
  it("codes a default-task aggregate in under 60% of version 1's bytes, exactly, and still reads version 1", () => {
    const aggregate = defaultTaskAggregate(1);
    const v2 = encodeSparseCodes(aggregate, BACKGROUND);
    const v1 = encodeVersion1(aggregate, BACKGROUND);
    assert.equal(v2[2], AGGREGATE_WIRE_VERSION);
    assert.ok(v2.length < v1.length * 0.6, `${v2.length} vs ${v1.length} bytes`);
    // magic 2, version, dimension 3, background 2, count 2, gap parameter: then the value coding, 1 = Huffman.
    assert.equal(v2[11], 1);
    for (const bytes of [v1, v2]) assert.deepEqual(decodeSparseCodes(bytes, DIMENSION), aggregate);
    // Deterministic: a watcher that recomputes the aggregate serves it under the name its aggregator posted.
    assert.deepEqual(encodeSparseCodes(Uint16Array.from(aggregate), BACKGROUND), v2);
  });

  it("Rice-codes values with more distinct values than a Huffman table may hold, and round-trips edge codes", () => {
    const rng = new Rng(2);
    const codes = new Uint16Array(20_000).fill(BACKGROUND);
    for (let k = 0; k < 3 * MAX_VALUE_SYMBOLS; k++) codes[rng.int(codes.length)] = rng.int(65_536);
    codes[0] = 0;
    codes[codes.length - 1] = 0xffff;
    const bytes = encodeSparseCodes(codes, BACKGROUND);
    assert.equal(bytes[11], 0); // Rice-coded values (dimension and count take 3 and 2 bytes here too)
    assert.deepEqual(decodeSparseCodes(bytes, codes.length), codes);
    const few = new Uint16Array(1_000).fill(0);
    few[10] = 0xffff; // background 0: the largest difference, one value
    assert.deepEqual(decodeSparseCodes(encodeSparseCodes(few, 0), few.length), few);
  });

  it("never fails but with UpdateDecodeError on a mutated body whose checksum was fixed", () => {
    const rng = new Rng(7);
    const spread = new Uint16Array(5_000).fill(BACKGROUND);
    for (let k = 0; k < 2_000; k++) spread[rng.int(spread.length)] = rng.int(65_536);
    const inputs = [
      encodeSparseCodes(defaultTaskAggregate(3), BACKGROUND),
      encodeSparseCodes(spread, BACKGROUND),
    ];
    for (const [n, bytes] of inputs.entries()) {
      const dimension = n === 0 ? DIMENSION : spread.length;
      const body = bytes.subarray(0, bytes.length - 4);
      for (let t = 0; t < 300; t++) {
        const mutated = Uint8Array.from(t % 3 === 0 ? body.subarray(0, rng.int(body.length)) : body);
        if (t % 3 !== 0) mutated[rng.int(mutated.length)]! ^= 1 << rng.int(8);
        try {
          const codes = decodeSparseCodes(withCrc(mutated), dimension);
          assert.equal(codes.length, dimension);
        } catch (error) {
          assert.ok(error instanceof UpdateDecodeError, String(error));
        }
      }
    }
  });
});
