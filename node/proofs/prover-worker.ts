/** Worker thread running snarkjs Groth16 proving (CPU-heavy for seconds) off the node's event loop. */
import { parentPort, workerData } from "node:worker_threads";

import * as snarkjs from "snarkjs";

interface Job {
  readonly input: Record<string, unknown>;
  readonly wasmPath: string;
  readonly zkeyPath: string;
}

const job = workerData as Job;
try {
  parentPort?.postMessage({ kind: "progress", stage: "proving" });
  const { proof, publicSignals } = await snarkjs.groth16.fullProve(job.input, job.wasmPath, job.zkeyPath);
  parentPort?.postMessage({ kind: "done", proof, publicSignals });
} catch (error) {
  parentPort?.postMessage({ kind: "error", message: error instanceof Error ? error.message : String(error) });
} finally {
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
}
