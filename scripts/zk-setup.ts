/**
 * Regenerates every zk artifact offline and deterministically (development only: the entropy is fixed and
 * public, so these keys are INSECURE for production; see docs/protocol.md §5 for a real ceremony):
 *
 *   1. compile circuits/aggregate.circom with circom2 (WASM) → r1cs + witness wasm
 *   2. powers of tau 2^14: new, contribute, beacon, prepare phase 2 (slow: minutes; skipped when
 *      circuits/build/pot14_final.ptau exists)
 *   3. Groth16 setup, one contribution, beacon → final zkey; verification key
 *   4. Solidity verifier → contracts/verifier/Groth16Verifier.sol, from our own template
 *      (scripts/zk/groth16-verifier-sol.ts, Apache-2.0, one public input), not snarkjs' GPL-3.0 one
 *   5. copy wasm, zkey and vkey to circuits/artifacts/ and write manifest.json with their SHA-256 hashes
 *      (the circuit hash covers aggregate.circom and the templates it includes)
 *
 * Usage: npm run zk:setup
 *
 * Development variants (scripts/zk/variant.ts; for `npm run bench:zk`'s measured K and C; nothing committed):
 *   npm run zk:setup -- --variant 4,64 [--variant 16,32]   compile AggregateChunk(K, C) and run a dev Groth16
 *       setup over the smallest local powers of tau that fits (no contribution: a dev setup, not a ceremony)
 *   npm run zk:setup -- --ptau 15   generate circuits/build/pot15_final.ptau the same way as the 2^14 one
 *       (prepare phase 2 takes tens of minutes here), for variants over 16,383 constraints
 * Run them under the shared lock: `flock /tmp/vain-bench.lock npm run zk:setup -- ...`.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { circuitSourcesSha256 } from "../node/proofs/artifacts.ts";
import { ProofInputError } from "../node/proofs/witness.ts";
import { renderGroth16Verifier } from "./zk/groth16-verifier-sol.ts";
import { r1csConstraints } from "./zk/r1cs.ts";
import { VariantSetupError, parseShape, setupVariant } from "./zk/variant.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BUILD = `${ROOT}circuits/build`;
const ARTIFACTS = `${ROOT}circuits/artifacts`;
const BIN = `${ROOT}node_modules/.bin`;
const PTAU_POWER = 14;
const ENTROPY = "vain deterministic development entropy - insecure";
const BEACON = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

function run(tool: string, args: readonly string[]): void {
  const started = performance.now();
  process.stdout.write(`$ ${tool} ${args.join(" ")}\n`);
  execFileSync(`${BIN}/${tool}`, [...args], { stdio: ["ignore", "inherit", "inherit"], cwd: ROOT });
  process.stdout.write(`  (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

/** Powers of tau 2^power (new, contribute, beacon, prepare phase 2), unless it exists; returns its path. */
async function powersOfTau(power: number): Promise<string> {
  const ptau = `${BUILD}/pot${power}_final.ptau`;
  if (await exists(ptau)) return ptau;
  const started = performance.now();
  run("snarkjs", ["powersoftau", "new", "bn128", String(power), `${BUILD}/pot${power}_0000.ptau`]);
  run("snarkjs", [
    "powersoftau",
    "contribute",
    `${BUILD}/pot${power}_0000.ptau`,
    `${BUILD}/pot${power}_0001.ptau`,
    "--name=vain-dev",
    `-e=${ENTROPY}`,
  ]);
  run("snarkjs", [
    "powersoftau",
    "beacon",
    `${BUILD}/pot${power}_0001.ptau`,
    `${BUILD}/pot${power}_beacon.ptau`,
    BEACON,
    "10",
    "-n=vain dev beacon",
  ]);
  run("snarkjs", ["powersoftau", "prepare", "phase2", `${BUILD}/pot${power}_beacon.ptau`, ptau]);
  process.stdout.write(
    `powers of tau 2^${power}: ${((performance.now() - started) / 1000 / 60).toFixed(1)} min in all\n`,
  );
  return ptau;
}

const { values: flags } = parseArgs({
  options: { variant: { type: "string", multiple: true }, ptau: { type: "string" } },
});
await mkdir(BUILD, { recursive: true });
if (flags.ptau !== undefined || flags.variant !== undefined) {
  // Development builds only: the committed artifacts are not touched.
  if (flags.ptau !== undefined) {
    const power = Number(flags.ptau);
    if (!Number.isInteger(power) || power < 10 || power > 20) {
      process.stderr.write(`--ptau takes a power of two in 10..20, got "${flags.ptau}"\n`);
      process.exit(1);
    }
    await powersOfTau(power);
  }
  try {
    for (const text of flags.variant ?? []) await setupVariant(parseShape(text));
  } catch (error) {
    // Bad shapes and missing powers of tau are user errors: one line, not a stack.
    if (error instanceof VariantSetupError || error instanceof ProofInputError) {
      process.stderr.write(`zk:setup: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  process.exit(0);
}

await mkdir(ARTIFACTS, { recursive: true });
run("circom2", ["circuits/aggregate.circom", "--r1cs", "--wasm", "--O2", "-o", "circuits/build"]);

const ptau = await powersOfTau(PTAU_POWER);

run("snarkjs", ["groth16", "setup", `${BUILD}/aggregate.r1cs`, ptau, `${BUILD}/aggregate_0000.zkey`]);
run("snarkjs", [
  "zkey",
  "contribute",
  `${BUILD}/aggregate_0000.zkey`,
  `${BUILD}/aggregate_0001.zkey`,
  "--name=vain-dev",
  `-e=${ENTROPY}`,
]);
run("snarkjs", [
  "zkey",
  "beacon",
  `${BUILD}/aggregate_0001.zkey`,
  `${ARTIFACTS}/aggregate.zkey`,
  BEACON,
  "10",
  "-n=vain dev zkey beacon",
]);
run("snarkjs", [
  "zkey",
  "export",
  "verificationkey",
  `${ARTIFACTS}/aggregate.zkey`,
  `${ARTIFACTS}/verification_key.json`,
]);
await mkdir(`${ROOT}contracts/verifier`, { recursive: true });
await writeFile(
  `${ROOT}contracts/verifier/Groth16Verifier.sol`,
  renderGroth16Verifier(JSON.parse(await readFile(`${ARTIFACTS}/verification_key.json`, "utf8")) as never),
);
await copyFile(`${BUILD}/aggregate_js/aggregate.wasm`, `${ARTIFACTS}/aggregate.wasm`);

const files = ["aggregate.wasm", "aggregate.zkey", "verification_key.json"];
const manifest = {
  circuit: "circuits/aggregate.circom",
  circuitSha256: await circuitSourcesSha256(),
  ptauPower: PTAU_POWER,
  constraints: await r1csConstraints(`${BUILD}/aggregate.r1cs`),
  insecureDevelopmentSetup: true,
  files: Object.fromEntries(
    await Promise.all(files.map(async (f) => [f, await sha256(`${ARTIFACTS}/${f}`)] as const)),
  ),
};
await writeFile(`${ARTIFACTS}/manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
process.stdout.write(`wrote ${ARTIFACTS}/manifest.json\n`);
