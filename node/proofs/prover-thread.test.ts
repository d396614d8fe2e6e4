/**
 * The prover thread (prover-thread.ts) with real snarkjs: one thread kept across jobs, replaced after its
 * job limit and after a failure, ended when idle, and a queued job cancelled without touching the running one.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ARTIFACTS_DIR, loadProofArtifacts } from "./artifacts.ts";
import { Rng } from "../core/rng.ts";
import { CHUNK_SIZE, PROOF_TRAINERS } from "./constants.ts";
import { encodeFixedPoint } from "./fixed-point.ts";
import { ProverThread, ProvingCancelledError, ProvingError } from "./prover-thread.ts";
import type { ProverJob } from "./prover-thread.ts";
import { buildChunkWitness, publicSignals } from "./witness.ts";
import { mapFloat32 } from "../core/vectors.ts";

const rng = new Rng(7);
const updates = Array.from({ length: PROOF_TRAINERS }, () =>
  encodeFixedPoint(mapFloat32({ length: CHUNK_SIZE }, () => rng.normal() * 0.05)),
);
const weights = updates.map((_, i) => 10 + i);
const { input, statement } = await buildChunkWitness(1n, 0, updates, weights);
const proveJob: ProverJob = {
  kind: "prove",
  input,
  wasmPath: `${ARTIFACTS_DIR}aggregate.wasm`,
  zkeyPath: `${ARTIFACTS_DIR}aggregate.zkey`,
};
const { verificationKey } = await loadProofArtifacts();
const signals = (await publicSignals(statement)).map(String);

/** Worker threads alive and holding this process open: Node lists a running worker as its `MessagePort`. */
const heldOpen = () =>
  process.getActiveResourcesInfo().filter((r) => r === "MessagePort" || r === "Worker").length;

describe("prover thread", () => {
  it("proves and verifies on one thread, replaced after maxJobs and after a failed job", async () => {
    const thread = new ProverThread({ maxJobs: 3 });
    const proved = await thread.run(proveJob);
    assert.equal(proved.kind, "done");
    assert.ok(proved.kind === "done");
    const verify: ProverJob = {
      kind: "verify",
      verificationKey,
      publicSignals: signals,
      proof: proved.proof,
    };
    assert.deepEqual(await thread.run(verify), { id: 2, kind: "verified", valid: true });
    assert.equal(thread.started, 1, "the second job ran on the first job's thread");
    assert.equal(thread.alive, true);
    await thread.run(verify); // the third job: the thread has run its maxJobs and is replaced
    assert.equal(thread.alive, false);
    await thread.run(verify);
    assert.equal(thread.started, 2);
    // A failing job fails with a ProvingError and its thread is replaced (its state is unknown).
    await assert.rejects(thread.run({ ...verify, verificationKey: { curve: "nope" } }), ProvingError);
    assert.equal(thread.alive, false);
    assert.equal((await thread.run(verify)).kind, "verified");
    assert.equal(thread.started, 3);
    await thread.close();
  });

  it("an idle thread does not hold the process open and ends after idleMs", async () => {
    const before = heldOpen();
    const thread = new ProverThread({ idleMs: 300 });
    const proved = await thread.run(proveJob);
    assert.ok(proved.kind === "done");
    assert.equal(thread.alive, true);
    assert.equal(heldOpen(), before, "idle, the thread is unref'd");
    const deadline = Date.now() + 30_000;
    while (thread.alive && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(thread.alive, false, "ended after idleMs");
    // The next job starts a new thread.
    assert.equal((await thread.run(proveJob)).kind, "done");
    assert.equal(thread.started, 2);
    await thread.close();
  });

  it("cancelling a queued job removes it and leaves the running proof alone", async () => {
    const thread = new ProverThread();
    const controller = new AbortController();
    const running = thread.run(proveJob);
    const queued = thread.run(proveJob, { signal: controller.signal });
    controller.abort();
    await assert.rejects(queued, ProvingCancelledError);
    assert.equal((await running).kind, "done");
    assert.equal(thread.started, 1);
    assert.equal(thread.alive, true);
    await thread.close();
    assert.equal(thread.alive, false);
    // Already aborted: refused before touching the thread.
    await assert.rejects(thread.run(proveJob, { signal: AbortSignal.abort() }), ProvingCancelledError);
    assert.equal(thread.started, 1);
  });
});
