/**
 * Worker thread running snarkjs (Groth16 proving, CPU-heavy for seconds, and verification) off the node's
 * event loop. Keeping snarkjs out of the main thread also keeps its curve worker pool from holding the
 * process open.
 */
import { parentPort, workerData } from "node:worker_threads";

import { buildBn128 } from "ffjavascript";
import * as snarkjs from "snarkjs";
import type { Groth16Proof } from "snarkjs";

type Job =
  | { kind: "prove"; input: Record<string, unknown>; wasmPath: string; zkeyPath: string }
  | { kind: "verify"; verificationKey: unknown; publicSignals: string[]; proof: Groth16Proof };

const job = (workerData as { job: Job }).job;
try {
  // ffjavascript cannot spawn its own worker pool from inside a worker thread. A single-threaded curve set
  // as the process-wide cached one is what snarkjs then uses for proving and verifying (this also leaves
  // the other cores to training).
  (globalThis as { curve_bn128?: unknown }).curve_bn128 = await buildBn128(true);
  if (job.kind === "prove") {
    parentPort?.postMessage({ kind: "progress", stage: "proving" });
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(
      job.input,
      job.wasmPath,
      job.zkeyPath,
      undefined,
      undefined,
      {
        singleThread: true,
      },
    );
    parentPort?.postMessage({ kind: "done", proof, publicSignals });
  } else {
    const valid = await snarkjs.groth16.verify(job.verificationKey, job.publicSignals, job.proof);
    parentPort?.postMessage({ kind: "verified", valid });
  }
} catch (error) {
  parentPort?.postMessage({ kind: "error", message: error instanceof Error ? error.message : String(error) });
} finally {
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
}
