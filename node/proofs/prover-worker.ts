/**
 * The prover thread (prover-thread.ts): runs snarkjs (Groth16 proving, CPU-heavy for seconds, and verification)
 * off the node's event loop, one job after another for as long as its host keeps it. Keeping snarkjs out of the
 * main thread also keeps its curve worker pool from holding the process open.
 */
import { parentPort } from "node:worker_threads";

import { buildBn128 } from "ffjavascript";
import * as snarkjs from "snarkjs";

import type { ProverReply, ProverRequest } from "./prover-thread.ts";

if (parentPort === null) throw new Error("prover-worker.ts must run in a worker thread");
const port = parentPort;

// ffjavascript cannot spawn its own worker pool from inside a worker thread. A single-threaded curve set as the
// cached one (`globalThis.curve_bn128`) is what snarkjs then takes whenever it is not told `singleThread`: built
// once for this thread's life. (With `singleThread: true` snarkjs builds a new curve, a WASM module and memory,
// for every proof.)
const curve = buildBn128(true).then((built: unknown) => {
  (globalThis as { curve_bn128?: unknown }).curve_bn128 = built;
});

async function run(request: ProverRequest): Promise<ProverReply> {
  const { id, job } = request;
  await curve;
  if (job.kind === "prove") {
    port.postMessage({ id, kind: "progress" } satisfies ProverReply);
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(job.input, job.wasmPath, job.zkeyPath);
    return { id, kind: "done", proof, publicSignals };
  }
  const valid = await snarkjs.groth16.verify(job.verificationKey, job.publicSignals, job.proof);
  return { id, kind: "verified", valid };
}

// The host sends one job at a time and waits for its reply.
port.on("message", (request: ProverRequest) => {
  void run(request).then(
    (reply) => port.postMessage(reply),
    (error: unknown) =>
      port.postMessage({
        id: request.id,
        kind: "error",
        message: error instanceof Error ? error.message : String(error),
      } satisfies ProverReply),
  );
});
