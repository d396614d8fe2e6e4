/**
 * bench:zk's fan-in variants (K = 4, 8, 16; C = 64, 32): constraint counts from compiled circuits, witness and
 * proving time measured in a worker where a dev zkey exists (circuits/build/variants), estimated from the
 * measured throughput where not.
 */
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

import { CHUNK_SIZE, PROOF_TRAINERS, buildChunkWitness, encodeFixedPoint } from "../../node/proofs/index.ts";
import type { CircuitShape } from "../../node/proofs/index.ts";
import { Rng } from "../../node/core/rng.ts";
import { r1csConstraints } from "../zk/r1cs.ts";
import { compileVariant, readVariantSetup, requiredPtauPower, variantPaths } from "../zk/variant.ts";
import type { Row } from "./common.ts";
import type { VariantProveJob, VariantProveResult } from "./zk-variant-worker.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Fan-ins and chunk sizes reported beside the default (the issue asks for K = 4, 8, 16). */
export const VARIANT_SHAPES: readonly CircuitShape[] = [
  { trainers: 4, chunkSize: 64 },
  { trainers: 8, chunkSize: 64 },
  { trainers: 16, chunkSize: 64 },
  { trainers: 16, chunkSize: 32 },
];

/** One variant's figures: measured (committed artifacts or a dev zkey) or estimated from throughput. */
export interface VariantFigures {
  readonly shape: CircuitShape;
  readonly constraints: number;
  readonly source: "committed artifacts" | "dev setup" | "estimate";
  /** Circuit input in TypeScript plus the wasm witness calculation, mean seconds (measured only). */
  readonly witnessSeconds?: number;
  /** Groth16 proving from the witness on one thread, mean seconds; estimated when `source` is "estimate". */
  readonly proveSeconds: number;
  readonly setupSeconds?: number;
  readonly ptauPower?: number;
  readonly zkeyMB?: number;
}

/** Runs one witness + proof of a variant in zk-variant-worker.ts (one thread, like the node's prover). */
function proveInWorker(job: VariantProveJob): Promise<VariantProveResult> {
  const worker = new Worker(new URL("./zk-variant-worker.ts", import.meta.url), {
    // See node/proofs/prover.ts: snarkjs's web-worker package reads `workerData.mod` in any worker thread.
    workerData: { mod: "data:text/javascript,", name: "vain-bench-variant", job },
  });
  return new Promise((resolve, reject) => {
    worker.on("message", (message: { kind: string; result?: VariantProveResult; message?: string }) => {
      void worker.terminate();
      if (message.kind === "done") resolve(message.result!);
      else reject(new Error(`variant proving failed: ${message.message}`));
    });
    worker.on("error", reject);
  });
}

/**
 * Measures witness and proving seconds of a circuit of `shape` over `runs` chunks of random updates (8·C
 * values per trainer, weights 100 + k). Every proof must verify and carry the statement hash the TypeScript
 * computes for that shape, or the benchmark stops: a figure for a wrong proof is worthless.
 */
async function measureShape(
  shape: CircuitShape,
  files: { wasm: string; zkey: string; verificationKey: string },
  runs: number,
): Promise<{ witnessSeconds: number; proveSeconds: number }> {
  const rng = new Rng(17);
  const updates = Array.from({ length: shape.trainers }, () =>
    encodeFixedPoint(mapFloat32({ length: shape.chunkSize * 8 }, () => rng.normal() * 0.05)),
  );
  const weights = updates.map((_, k) => 100 + k);
  let witnessSeconds = 0;
  let proveSeconds = 0;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const { input } = await buildChunkWitness(1n, run, updates, weights, shape);
    const inputSeconds = (performance.now() - started) / 1000;
    const result = await proveInWorker({
      input,
      wasmPath: files.wasm,
      zkeyPath: files.zkey,
      verificationKeyPath: files.verificationKey,
    });
    if (!result.valid || result.publicSignals[0] !== input.statement)
      throw new Error(
        `K=${shape.trainers}, C=${shape.chunkSize}: the proof does not verify for its statement`,
      );
    witnessSeconds += inputSeconds + result.wtnsMs / 1000;
    proveSeconds += result.proveMs / 1000;
  }
  return { witnessSeconds: witnessSeconds / runs, proveSeconds: proveSeconds / runs };
}

/**
 * Figures of one variant: K = 8, C = 64 from the committed artifacts; others from their dev zkey when
 * `zk:setup --variant` built one from the current templates, else compiled (r1cs only) for the constraint
 * count with proving time estimated at `throughput` constraints/s.
 */
export async function variantFigures(
  shape: CircuitShape,
  committedConstraints: number,
  throughput: number,
  runs: number,
): Promise<VariantFigures> {
  const label = `K=${shape.trainers}, C=${shape.chunkSize}`;
  if (shape.trainers === PROOF_TRAINERS && shape.chunkSize === CHUNK_SIZE) {
    process.stdout.write(`${label}: measuring with the committed artifacts...\n`);
    const dir = `${ROOT}circuits/artifacts`;
    const measured = await measureShape(
      shape,
      {
        wasm: `${dir}/aggregate.wasm`,
        zkey: `${dir}/aggregate.zkey`,
        verificationKey: `${dir}/verification_key.json`,
      },
      runs,
    );
    return { shape, constraints: committedConstraints, source: "committed artifacts", ...measured };
  }
  const setup = await readVariantSetup(shape);
  if (setup !== undefined) {
    process.stdout.write(`${label}: measuring with its dev zkey (dev setup, not a ceremony)...\n`);
    const paths = variantPaths(shape);
    const measured = await measureShape(shape, paths, runs);
    return {
      shape,
      constraints: setup.constraints,
      source: "dev setup",
      ...measured,
      setupSeconds: setup.setupSeconds,
      ptauPower: setup.ptauPower,
      zkeyMB: setup.zkeyBytes / 2 ** 20,
    };
  }
  process.stdout.write(
    `${label}: no dev zkey (npm run zk:setup -- --variant ${shape.trainers},${shape.chunkSize}); ` +
      `compiling for its constraint count, proving time estimated...\n`,
  );
  await compileVariant(shape, { r1cs: true, wasm: false });
  const constraints = await r1csConstraints(variantPaths(shape).r1cs);
  return { shape, constraints, source: "estimate", proveSeconds: constraints / throughput };
}

/** Table rows of one variant; measured and estimated figures are named differently. */
export function variantRows(v: VariantFigures): Row[] {
  const label = `K=${v.shape.trainers}, C=${v.shape.chunkSize}`;
  const rows: Row[] = [
    {
      metric: `${label}: constraints (needs 2^${requiredPtauPower(v.constraints)} ptau)`,
      value: v.constraints,
    },
    {
      metric: `${label}: constraints per parameter per trainer`,
      value: v.constraints / (v.shape.trainers * v.shape.chunkSize),
    },
  ];
  if (v.source === "estimate") {
    rows.push({
      metric: `${label}: est. prove seconds (measured K=8 throughput; no dev zkey)`,
      value: v.proveSeconds,
    });
    return rows;
  }
  rows.push(
    { metric: `${label}: witness seconds (input + wtns, measured, ${v.source})`, value: v.witnessSeconds! },
    { metric: `${label}: prove seconds (1 thread, measured, ${v.source})`, value: v.proveSeconds },
    { metric: `${label}: proving throughput (constraints/s)`, value: v.constraints / v.proveSeconds },
  );
  if (v.setupSeconds !== undefined)
    rows.push(
      { metric: `${label}: dev groth16 setup seconds (2^${v.ptauPower} ptau)`, value: v.setupSeconds },
      { metric: `${label}: dev zkey MB`, value: v.zkeyMB! },
    );
  return rows;
}

/** `figures` keys of one variant: measured ones unprefixed, estimates prefixed `est`. */
export function variantKeys(v: VariantFigures): [string, number][] {
  const id = `K${v.shape.trainers}C${v.shape.chunkSize}`;
  const keys: [string, number][] = [
    [`constraints${id}`, v.constraints],
    [`constraintsPerParamPerTrainer${id}`, v.constraints / (v.shape.trainers * v.shape.chunkSize)],
  ];
  if (v.source === "estimate") return [...keys, [`estProveSeconds${id}`, v.proveSeconds]];
  return [
    ...keys,
    [`witnessSeconds${id}`, v.witnessSeconds!],
    [`proveSeconds${id}`, v.proveSeconds],
    ...(v.setupSeconds === undefined ? [] : [[`devSetupSeconds${id}`, v.setupSeconds] as [string, number]]),
  ];
}
