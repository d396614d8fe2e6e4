/**
 * Attestation worker thread: runs the CPU-bound attestation workload (attestation.ts) off the node's event
 * loop, so a prover answering a challenge still serves gossip, streams and the chain poller meanwhile.
 * Protocol: one {@link AttestationWorkerRequest} in, one {@link AttestationWorkerResponse} out.
 */
import { parentPort } from "node:worker_threads";

import { createChallenge, runAttestation } from "./attestation.ts";
import type { AttestationWorkerRequest, AttestationWorkerResponse } from "./attestation-runner.ts";

if (parentPort === null) throw new Error("attestation-worker.ts must run in a worker thread");
const port = parentPort;

// Warm the JIT before the first real challenge: a cold worker runs the workload 2-3x slower, which would make
// an honest node look slower than the speed it measured (warm) and advertises.
runAttestation(createChallenge({ blocks: 48 }));

port.on("message", (request: AttestationWorkerRequest) => {
  let reply: AttestationWorkerResponse;
  try {
    reply = { id: request.id, ok: true, response: runAttestation(request.challenge) };
  } catch (error) {
    reply = { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
