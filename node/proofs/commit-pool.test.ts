/**
 * Commitments off the event loop (commit-pool.ts): the worker's commitment is the one this thread computes, for
 * an update of the MLP's size and for a one-chunk vector, and many asked at once each get their own.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { commitOffThread } from "./commit-pool.ts";
import { commitEncoded, commitEncodedHere } from "./commitment.ts";

/** Parameters of the task's MLP (the size whose commitment stalled the event loop). */
const MLP_PARAMS = 101_770;

function randomEncoded(length: number, seed: number): Uint16Array {
  const out = new Uint16Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    out[i] = x % 65_536;
  }
  return out;
}

describe("commitments in the commitment worker", () => {
  it("the worker's commitment equals this thread's, for the MLP's size and for one chunk", async () => {
    for (const [length, seed] of [
      [MLP_PARAMS, 1],
      [7, 2],
    ] as const) {
      const encoded = randomEncoded(length, seed);
      const offThread = await commitOffThread(encoded);
      assert.ok(offThread !== undefined, "the worker answered");
      assert.deepEqual(offThread, await commitEncodedHere(encoded));
    }
  });

  it("commitments asked at once each get their own answer", async () => {
    const inputs = [3, 4, 5, 6].map((seed) => randomEncoded(5_000, seed));
    const answers = await Promise.all(inputs.map((encoded) => commitEncoded(encoded)));
    for (const [i, encoded] of inputs.entries())
      assert.equal(answers[i]!.root, (await commitEncodedHere(encoded)).root, `input ${i}`);
    assert.equal(new Set(answers.map((a) => a.root)).size, inputs.length);
  });
});
