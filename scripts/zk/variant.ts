/**
 * Development variants of the aggregation circuit: the same templates (circuits/aggregate-chunk.circom) at
 * another fan-in K and chunk size C, built in circuits/build/variants/ (gitignored, never committed). Only
 * K = 8, C = 64 has a ceremony and committed artifacts. A variant's zkey is a **dev setup, not a ceremony**:
 * `snarkjs groth16 setup` over the local powers of tau with no contribution, good for measuring witness and
 * proving time (which do not depend on contributions) and for nothing else.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

import { checkCircuitShape } from "../../node/proofs/witness.ts";
import type { CircuitShape } from "../../node/proofs/witness.ts";
import { r1csConstraints } from "./r1cs.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = `${ROOT}node_modules/.bin`;
const TEMPLATES = `${ROOT}circuits/aggregate-chunk.circom`;
/** Where the powers of tau live (`pot<power>_final.ptau`, built by `npm run zk:setup`). */
export const PTAU_DIR = `${ROOT}circuits/build`;
export const VARIANTS_DIR = `${ROOT}circuits/build/variants`;
/** Value and weight bits: fixed by the encoding (node/proofs/constants.ts), so variants differ in K and C only. */
const VALUE_AND_WEIGHT_BITS = "16, 16";

/** A variant could not be built (no powers of tau large enough, compiler failure). */
export class VariantSetupError extends Error {
  override readonly name = "VariantSetupError";
  readonly code = "VARIANT_SETUP";
}

/** What `setupVariant` records beside a variant's zkey (`<name>.json`). */
export interface VariantManifest {
  readonly trainers: number;
  readonly chunkSize: number;
  readonly constraints: number;
  /** SHA-256 of the templates and the variant's main file: a zkey of older templates is not used. */
  readonly sourcesSha256: string;
  readonly ptauPower: number;
  readonly compileSeconds: number;
  readonly setupSeconds: number;
  readonly zkeyBytes: number;
  readonly devSetupNotACeremony: true;
}

export interface VariantPaths {
  readonly name: string;
  readonly circom: string;
  readonly r1cs: string;
  readonly wasm: string;
  readonly zkey: string;
  readonly verificationKey: string;
  readonly manifest: string;
}

/** File names of variant `shape` in `dir`, e.g. aggregate_k4_c64.{circom,r1cs,zkey}. */
export function variantPaths(shape: CircuitShape, dir: string = VARIANTS_DIR): VariantPaths {
  const name = `aggregate_k${shape.trainers}_c${shape.chunkSize}`;
  return {
    name,
    circom: `${dir}/${name}.circom`,
    r1cs: `${dir}/${name}.r1cs`,
    wasm: `${dir}/${name}_js/${name}.wasm`,
    zkey: `${dir}/${name}.zkey`,
    verificationKey: `${dir}/${name}.vkey.json`,
    manifest: `${dir}/${name}.json`,
  };
}

/** The main file instantiating `AggregateChunk(K, C, 16, 16)`, including the templates relative to `dir`. */
function variantSource(shape: CircuitShape, dir: string): string {
  const include = relative(dir, TEMPLATES);
  return (
    `pragma circom 2.1.0;\ninclude "${include}";\n` +
    `component main {public [statement]} = AggregateChunk(${shape.trainers}, ${shape.chunkSize}, ` +
    `${VALUE_AND_WEIGHT_BITS});\n`
  );
}

async function sourcesSha256(circom: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(TEMPLATES))
    .update(await readFile(circom))
    .digest("hex");
}

/**
 * Writes and compiles variant `shape` into `dir` (which must lie inside the repository: the circom2 compiler
 * runs as WASI and sees only its working directory). Returns the compile seconds.
 */
export async function compileVariant(
  shape: CircuitShape,
  outputs: { readonly r1cs: boolean; readonly wasm: boolean },
  dir: string = VARIANTS_DIR,
): Promise<number> {
  checkCircuitShape(shape);
  await mkdir(dir, { recursive: true });
  const paths = variantPaths(shape, dir);
  await writeFile(paths.circom, variantSource(shape, dir));
  const flags = [...(outputs.r1cs ? ["--r1cs"] : []), ...(outputs.wasm ? ["--wasm"] : [])];
  const started = performance.now();
  try {
    execFileSync(
      `${BIN}/circom2`,
      [relative(ROOT, paths.circom), ...flags, "--O2", "-o", relative(ROOT, dir)],
      { stdio: ["ignore", "ignore", "pipe"], cwd: ROOT },
    );
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim().split("\n").at(-1) ?? "";
    throw new VariantSetupError(`circom2 failed on ${paths.name}: ${stderr || (error as Error).message}`);
  }
  return (performance.now() - started) / 1000;
}

/**
 * The smallest powers-of-tau size snarkjs accepts for `constraints` (and the one public input): it needs
 * 2^power > constraints + public inputs (`groth16 setup`'s `cirPower`).
 */
export function requiredPtauPower(constraints: number): number {
  return Math.floor(Math.log2(constraints + 1)) + 1;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The smallest `pot<p>_final.ptau` in PTAU_DIR with p >= `power` (up to 2^20), or undefined. */
async function findPtau(power: number): Promise<{ path: string; power: number } | undefined> {
  for (let p = power; p <= 20; p++) {
    const path = `${PTAU_DIR}/pot${p}_final.ptau`;
    if (await exists(path)) return { path, power: p };
  }
  return undefined;
}

/**
 * Compiles variant `shape` (r1cs + wasm) and runs a dev Groth16 setup (not a ceremony) over the smallest local
 * powers of tau that fits; writes the zkey, its verification key and the manifest. Prints each step's time.
 */
export async function setupVariant(shape: CircuitShape): Promise<VariantManifest> {
  const paths = variantPaths(shape);
  process.stdout.write(`compiling ${paths.name} (r1cs + wasm)...\n`);
  const compileSeconds = await compileVariant(shape, { r1cs: true, wasm: true });
  const constraints = await r1csConstraints(paths.r1cs);
  const needed = requiredPtauPower(constraints);
  process.stdout.write(
    `  ${constraints} constraints, compiled in ${compileSeconds.toFixed(1)} s; needs 2^${needed}\n`,
  );
  const ptau = await findPtau(needed);
  if (ptau === undefined)
    throw new VariantSetupError(
      `${paths.name} needs circuits/build/pot${needed}_final.ptau (2^${needed}): ` +
        `run \`npm run zk:setup -- --ptau ${needed}\` first (slow)`,
    );
  process.stdout.write(`groth16 setup over ${relative(ROOT, ptau.path)} (dev setup, not a ceremony)...\n`);
  const started = performance.now();
  execFileSync(`${BIN}/snarkjs`, ["groth16", "setup", paths.r1cs, ptau.path, paths.zkey], {
    stdio: ["ignore", "ignore", "inherit"],
    cwd: ROOT,
  });
  const setupSeconds = (performance.now() - started) / 1000;
  execFileSync(`${BIN}/snarkjs`, ["zkey", "export", "verificationkey", paths.zkey, paths.verificationKey], {
    stdio: ["ignore", "ignore", "inherit"],
    cwd: ROOT,
  });
  const manifest: VariantManifest = {
    trainers: shape.trainers,
    chunkSize: shape.chunkSize,
    constraints,
    sourcesSha256: await sourcesSha256(paths.circom),
    ptauPower: ptau.power,
    compileSeconds,
    setupSeconds,
    zkeyBytes: (await stat(paths.zkey)).size,
    devSetupNotACeremony: true,
  };
  await writeFile(paths.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  process.stdout.write(`  setup ${setupSeconds.toFixed(1)} s; wrote ${relative(ROOT, paths.manifest)}\n`);
  return manifest;
}

/**
 * The manifest of a variant whose zkey, wasm and verification key exist and were built from the current
 * templates, or undefined (not set up, or stale: the benchmark then estimates instead of measuring).
 */
export async function readVariantSetup(shape: CircuitShape): Promise<VariantManifest | undefined> {
  const paths = variantPaths(shape);
  for (const file of [paths.manifest, paths.zkey, paths.wasm, paths.verificationKey, paths.circom])
    if (!(await exists(file))) return undefined;
  const manifest = JSON.parse(await readFile(paths.manifest, "utf8")) as VariantManifest;
  if (manifest.sourcesSha256 !== (await sourcesSha256(paths.circom))) return undefined;
  return manifest;
}

/** Parses "K,C" (e.g. "4,64") into a shape the templates can instantiate. */
export function parseShape(text: string): CircuitShape {
  const match = /^(\d+),(\d+)$/.exec(text.trim());
  if (match === null) throw new VariantSetupError(`a variant is "K,C" (e.g. 4,64), got "${text}"`);
  const shape = { trainers: Number(match[1]), chunkSize: Number(match[2]) };
  checkCircuitShape(shape);
  return shape;
}
