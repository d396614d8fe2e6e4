import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { CHUNK_SIZE } from "../proofs/constants.ts";
import { corruptChunks } from "./corrupt-chunks.ts";

/** Chunks of `after` that differ from `before`. */
function changedChunks(before: Uint16Array, after: Uint16Array): number[] {
  const out = new Set<number>();
  before.forEach((v, j) => {
    if (after[j] !== v) out.add(Math.floor(j / CHUNK_SIZE));
  });
  return [...out].sort((a, b) => a - b);
}

describe("corruptChunks", () => {
  it("biases half of the chunks, a different half each aggregate, and nothing else", () => {
    const chunks = 40;
    const honest = new Uint16Array(chunks * CHUNK_SIZE).fill(30_000);
    const cheat = corruptChunks(0.5);
    const first = changedChunks(honest, cheat.transformAggregate(Uint16Array.from(honest)));
    const second = changedChunks(honest, cheat.transformAggregate(Uint16Array.from(honest)));
    assert.equal(first.length, 20);
    assert.equal(second.length, 20);
    assert.notDeepEqual(first, second, "chosen afresh per aggregate");
  });

  it("corrupts at least one chunk however small the fraction, and refuses a fraction outside (0, 1]", () => {
    const honest = new Uint16Array(3 * CHUNK_SIZE + 5).fill(100);
    assert.equal(
      changedChunks(honest, corruptChunks(0.01).transformAggregate(Uint16Array.from(honest))).length,
      1,
    );
    assert.throws(() => corruptChunks(0), RangeError);
    assert.throws(() => corruptChunks(1.5), RangeError);
  });
});
