/**
 * Worker thread for `npm run bench:zk`'s fan-in variants: times the wasm witness calculation and the Groth16
 * proof separately, on one thread as node/proofs/prover-worker.ts proves (so the figures compare with the
 * node's), and verifies the proof against the variant's verification key.
 */
import { readFile } from "node:fs/promises";
import { parentPort, workerData } from "node:worker_threads";

import { buildBn128 } from "ffjavascript";
import * as snarkjs from "snarkjs";

export interface VariantProveJob {
  readonly input: Record<string, unknown>;
  readonly wasmPath: string;
  readonly zkeyPath: string;
  readonly verificationKeyPath: string;
}

export interface VariantProveResult {
  readonly wtnsMs: number;
  readonly proveMs: number;
  readonly valid: boolean;
  readonly publicSignals: readonly string[];
}

const job = (workerData as { job: VariantProveJob }).job;
try {
  // One thread, as in the node's prover worker (ffjavascript cannot start its own pool inside a worker).
  (globalThis as { curve_bn128?: unknown }).curve_bn128 = await buildBn128(true);
  const wtns: { type: "mem"; data?: Uint8Array } = { type: "mem" };
  let started = performance.now();
  await snarkjs.wtns.calculate(job.input, job.wasmPath, wtns);
  const wtnsMs = performance.now() - started;
  started = performance.now();
  const { proof, publicSignals } = await snarkjs.groth16.prove(job.zkeyPath, wtns, undefined, {
    singleThread: true,
  });
  const proveMs = performance.now() - started;
  const verificationKey: unknown = JSON.parse(await readFile(job.verificationKeyPath, "utf8"));
  const valid = await snarkjs.groth16.verify(verificationKey, publicSignals, proof);
  const result: VariantProveResult = { wtnsMs, proveMs, valid, publicSignals };
  parentPort?.postMessage({ kind: "done", result });
} catch (error) {
  parentPort?.postMessage({ kind: "error", message: error instanceof Error ? error.message : String(error) });
} finally {
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
}
