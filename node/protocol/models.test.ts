import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Hex } from "viem";

import { ModelStore } from "./models.ts";

const ref = (i: number): Hex => `0x${i.toString(16).padStart(64, "0")}`;

describe("ModelStore", () => {
  it("keeps a model in use through more than `limit` newer ones (least recently used goes first)", () => {
    const store = new ModelStore(3);
    const current = new Float32Array([1, 2, 3]);
    store.put(current, ref(1));
    // A run of failed rounds: each derives its would-be model, while every tick reads the current one.
    for (let round = 2; round <= 10; round++) {
      store.put(new Float32Array([round]), ref(round));
      assert.equal(store.get(ref(1)), current, `after round ${round}`);
    }
    assert.equal(store.get(ref(2)), undefined, "an unused would-be model was dropped");
    assert.notEqual(store.get(ref(10)), undefined);
  });

  it("serves bytes by content hash whatever ref the model is kept under", () => {
    const store = new ModelStore(2);
    const key = store.put(new Float32Array([4, 5]));
    store.put(new Float32Array([4, 5]), ref(7));
    assert.notEqual(store.bytesBySha256(key.slice(2)), undefined);
  });
});
