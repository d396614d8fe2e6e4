import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";

import { Rng } from "../core/rng.ts";
import { CHUNK_SIZE, PROOF_TRAINERS } from "./constants.ts";
import { encodeFixedPoint } from "./fixed-point.ts";
import { ProvingCancelledError, ProvingError, proveChunk } from "./prover.ts";
import { mapFloat32 } from "../core/vectors.ts";

const rng = new Rng(5);
const updates = Array.from({ length: PROOF_TRAINERS }, () =>
  encodeFixedPoint(mapFloat32({ length: CHUNK_SIZE }, () => rng.normal() * 0.05)),
);
const weights = updates.map((_, i) => 10 + i);

/** Worker threads alive in this process: Node lists a running worker as its `MessagePort` resource. */
const workers = () =>
  process.getActiveResourcesInfo().filter((r) => r === "MessagePort" || r === "Worker").length;

describe("proveChunk cancellation", () => {
  it("terminates the worker mid-proof and rejects with ProvingCancelledError, leaving nothing behind", async () => {
    const controller = new AbortController();
    const before = workers();
    let sawWorker = false;
    const proving = proveChunk(1n, 0, updates, weights, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.stage !== "proving") return;
        sawWorker = workers() > before;
        setTimeout(() => controller.abort(), 300); // well inside a proof of several seconds
      },
    });
    await assert.rejects(proving, (error: unknown) => {
      assert.ok(error instanceof ProvingCancelledError);
      assert.ok(error instanceof ProvingError);
      assert.equal(error.code, "PROVING_CANCELLED");
      return true;
    });
    assert.equal(sawWorker, true, "the proof ran in a worker thread");
    assert.equal(workers(), before, "the worker thread has exited");
    assert.equal(getEventListeners(controller.signal, "abort").length, 0, "the abort listener was removed");
  });

  it("rejects at once when the signal is already aborted", async () => {
    const before = workers();
    await assert.rejects(
      proveChunk(1n, 0, updates, weights, { signal: AbortSignal.abort() }),
      ProvingCancelledError,
    );
    assert.equal(workers(), before);
  });
});
