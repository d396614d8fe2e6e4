import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { FedBuffServer } from "./fedbuff.ts";

describe("FedBuff server", () => {
  it("steps once K updates are in, by the staleness-weighted mean times the server lr", () => {
    const server = new FedBuffServer(new Float32Array([1, 1]), { bufferSize: 2, serverLr: 1 });
    assert.equal(server.receive(new Float32Array([2, 0]), 0), false, "one of two: no step");
    assert.deepEqual([...server.model()], [1, 1]);
    assert.equal(server.receive(new Float32Array([0, 4]), 0), true);
    assert.deepEqual([...server.model()], [2, 3]);
    assert.equal(server.version, 1);
  });

  it("discounts a stale update by (1 + τ)^-a", () => {
    const server = new FedBuffServer(new Float32Array(1), { bufferSize: 1, stalenessExponent: 0.5 });
    server.receive(new Float32Array([1]), 0);
    server.receive(new Float32Array([1]), 1);
    server.receive(new Float32Array([1]), 2);
    assert.equal(server.version, 3);
    // Trained from version 0, arriving after 3 steps: weight 1/sqrt(4).
    assert.equal(server.stalenessWeight(0), 0.5);
    server.receive(new Float32Array([1]), 0);
    assert.deepEqual([...server.model()], [3.5]);
  });

  it("hands out copies and refuses versions it never issued or the wrong size", () => {
    const server = new FedBuffServer(new Float32Array([1]), { bufferSize: 1 });
    const held = server.model();
    server.receive(new Float32Array([1]), 0);
    assert.deepEqual([...held], [1], "a node's base model does not move under it");
    assert.throws(() => server.receive(new Float32Array([1]), 5), RangeError);
    assert.throws(() => server.receive(new Float32Array(2), 0), RangeError);
    assert.throws(() => new FedBuffServer(new Float32Array(1), { bufferSize: 0 }), RangeError);
  });
});
