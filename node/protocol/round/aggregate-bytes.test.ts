import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Rng } from "../../core/rng.ts";
import { encodeFixedPoint } from "../../proofs/index.ts";
import { aggregateFromBytes } from "./next-model.ts";
import { aggregateBytesOf } from "./round-data.ts";
import { mapFloat32 } from "../../core/vectors.ts";

describe("the served aggregate", () => {
  it("is sparse when few entries move the model, and decodes to the same codes", () => {
    const delta = new Float32Array(100_000);
    for (let i = 0; i < 4_000; i++) delta[(i * 24_989) % delta.length] = ((i % 7) - 3) / 64;
    const aggregate = encodeFixedPoint(delta);
    const bytes = aggregateBytesOf(aggregate);
    assert.ok(bytes.length < 4_000 * 4, `${bytes.length} bytes for 4,000 non-zero entries`);
    assert.deepEqual(aggregateFromBytes(bytes, delta.length), aggregate);
  });

  it("falls back to dense u16 when sparse would not be smaller, and still decodes", () => {
    // Every entry moved, by codes spread over the whole 16-bit range: no coding of them beats 2 bytes each.
    const rng = new Rng(1);
    const aggregate = encodeFixedPoint(mapFloat32({ length: 1_000 }, () => rng.next() * 16 - 8));
    const bytes = aggregateBytesOf(aggregate);
    assert.equal(bytes.length, 2_000);
    assert.deepEqual(aggregateFromBytes(bytes, 1_000), aggregate);
  });

  it("is refused for another model size, or when corrupted", () => {
    const delta = new Float32Array(1_000);
    delta[10] = 0.5;
    const bytes = aggregateBytesOf(encodeFixedPoint(delta));
    assert.equal(aggregateFromBytes(bytes, 999), undefined);
    const corrupted = bytes.slice();
    corrupted[bytes.length - 6] = corrupted[bytes.length - 6]! ^ 0xff;
    assert.equal(aggregateFromBytes(corrupted, 1_000), undefined);
    assert.equal(aggregateFromBytes(new Uint8Array(1_998), 1_000), undefined);
  });
});
