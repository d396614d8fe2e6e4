/**
 * `npm run bench:zk-chain`: chained aggregation proofs (circuits/aggregate-link.circom) for rounds of any size.
 * Compiles a link of K trainers and C values, runs a dev Groth16 setup over the smallest local powers of tau
 * (a dev setup, not a ceremony: proving time does not depend on contributions; nothing committed), proves every
 * link of one chunk of a chain of real random updates (each proof verified, its public input checked against
 * the statement the TypeScript computes), and reports constraints, per-link witness and proving seconds, and the
 * proving time of one chunk of a round of 16, 256 and 1,000 trainers (links × per-link time, one thread).
 *
 * Usage: npm run bench:zk-chain [-- --quick] [--k 8] [--c 32] [--chain 19]
 * Needs circuits/build/pot<p>_final.ptau (`npm run zk:setup -- --ptau 14`); run under /tmp/vain-bench.lock.
 */
import { execFileSync } from "node:child_process";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

import { buildChainWitnesses } from "../../node/proofs/chain-witness.ts";
import type { LinkShape } from "../../node/proofs/chain-witness.ts";
import { encodeFixedPoint } from "../../node/proofs/index.ts";
import { Rng } from "../../node/core/rng.ts";
import { r1csConstraints } from "../zk/r1cs.ts";
import { requiredPtauPower } from "../zk/variant.ts";
import { isQuick, numberOption, printTable, runBenchmark, writeResults } from "./common.ts";
import type { Row } from "./common.ts";
import type { VariantProveJob, VariantProveResult } from "./zk-variant-worker.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIR = "circuits/build/link";
/** Trainers in the whole chain stay below 2^10 = 1,024 (the 1,000-trainer round). */
const COUNT_BITS = 10;
/** Round sizes the per-chunk proving time is reported for. */
const ROUND_SIZES = [16, 256, 1000] as const;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function proveInWorker(job: VariantProveJob): Promise<VariantProveResult> {
  const worker = new Worker(new URL("./zk-variant-worker.ts", import.meta.url), {
    // See node/proofs/prover.ts: snarkjs's web-worker package reads `workerData.mod` in any worker thread.
    workerData: { mod: "data:text/javascript,", name: "vain-bench-link", job },
  });
  return new Promise((resolve, reject) => {
    worker.on("message", (message: { kind: string; result?: VariantProveResult; message?: string }) => {
      void worker.terminate();
      if (message.kind === "done") resolve(message.result!);
      else reject(new Error(`link proving failed: ${message.message}`));
    });
    worker.on("error", reject);
  });
}

/** Compiles the link and runs its dev setup (once per shape: kept in circuits/build/link). */
async function setupLink(shape: LinkShape): Promise<{
  name: string;
  constraints: number;
  setupSeconds: number | undefined;
  ptauPower: number;
  wasm: string;
  zkey: string;
  vkey: string;
}> {
  const name = `link_k${shape.trainers}_c${shape.chunkSize}_n${shape.countBits}`;
  const base = `${ROOT}${DIR}/${name}`;
  await mkdir(`${ROOT}${DIR}`, { recursive: true });
  await writeFile(
    `${base}.circom`,
    'pragma circom 2.1.0;\ninclude "../../aggregate-link.circom";\n' +
      `component main {public [statement]} = AggregateLink(${shape.trainers}, ${shape.chunkSize}, 16, 16, ` +
      `${shape.countBits});\n`,
  );
  execFileSync(
    `${ROOT}node_modules/.bin/circom2`,
    [`${DIR}/${name}.circom`, "--r1cs", "--wasm", "--O2", "-o", DIR],
    { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] },
  );
  const constraints = await r1csConstraints(`${base}.r1cs`);
  const needed = requiredPtauPower(constraints);
  let ptauPower = needed;
  while (ptauPower <= 20 && !(await exists(`${ROOT}circuits/build/pot${ptauPower}_final.ptau`))) ptauPower++;
  if (ptauPower > 20)
    throw new Error(
      `${name}: ${constraints} constraints need pot${needed}_final.ptau (npm run zk:setup -- --ptau ${needed})`,
    );
  const zkey = `${base}.zkey`;
  const vkey = `${base}.vkey.json`;
  const tag = `${base}.setup.json`;
  let setupSeconds: number | undefined;
  // The zkey is reused only if it was made for this very r1cs (same constraint count and ptau).
  const fresh =
    (await exists(tag)) &&
    (await exists(zkey)) &&
    JSON.stringify({ constraints, ptauPower }) === (await readFile(tag, "utf8"));
  if (!fresh) {
    const started = performance.now();
    execFileSync(
      `${ROOT}node_modules/.bin/snarkjs`,
      ["groth16", "setup", `${base}.r1cs`, `${ROOT}circuits/build/pot${ptauPower}_final.ptau`, zkey],
      { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] },
    );
    execFileSync(`${ROOT}node_modules/.bin/snarkjs`, ["zkey", "export", "verificationkey", zkey, vkey], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "inherit"],
    });
    setupSeconds = (performance.now() - started) / 1000;
    await writeFile(tag, JSON.stringify({ constraints, ptauPower }));
  }
  return { name, constraints, setupSeconds, ptauPower, wasm: `${base}_js/${name}.wasm`, zkey, vkey };
}

runBenchmark(async () => {
  const quick = isQuick();
  const shape: LinkShape = {
    trainers: numberOption("k", 8),
    chunkSize: numberOption("c", 32),
    countBits: COUNT_BITS,
  };
  const chain = numberOption("chain", quick ? shape.trainers + 1 : 2 * shape.trainers + 3);
  const setup = await setupLink(shape);
  const rng = new Rng(11);
  const updates = Array.from({ length: chain }, () =>
    encodeFixedPoint(mapFloat32({ length: shape.chunkSize * 2 }, () => rng.normal() * 0.05)),
  );
  const weights = updates.map((_, i) => (i % 7 === 3 ? 0 : 100 + i));
  const links = await buildChainWitnesses(1n, 1, updates, weights, shape);
  let witnessSeconds = 0;
  let proveSeconds = 0;
  for (const [i, link] of links.entries()) {
    const result = await proveInWorker({
      input: link.input,
      wasmPath: setup.wasm,
      zkeyPath: setup.zkey,
      verificationKeyPath: setup.vkey,
    });
    if (!result.valid || result.publicSignals[0] !== String(link.statement.statement))
      throw new Error(`link ${i} of ${setup.name}: the proof does not verify for its statement`);
    witnessSeconds += result.wtnsMs / 1000;
    proveSeconds += result.proveMs / 1000;
    process.stdout.write(
      `link ${i}: witness ${(result.wtnsMs / 1000).toFixed(2)} s, prove ${(result.proveMs / 1000).toFixed(2)} s\n`,
    );
  }
  const perLink = proveSeconds / links.length;
  const label = `link K=${shape.trainers}, C=${shape.chunkSize}`;
  const rows: Row[] = [
    {
      metric: `${label}: constraints (needs 2^${requiredPtauPower(setup.constraints)} ptau)`,
      value: setup.constraints,
    },
    {
      metric: `${label}: constraints per parameter per trainer`,
      value: setup.constraints / (shape.trainers * shape.chunkSize),
    },
    { metric: `${label}: links proven and verified (chain of ${chain} trainers)`, value: links.length },
    { metric: `${label}: witness seconds per link (wasm, measured)`, value: witnessSeconds / links.length },
    { metric: `${label}: prove seconds per link (1 thread, measured, dev setup)`, value: perLink },
    ...(setup.setupSeconds === undefined
      ? []
      : [
          {
            metric: `${label}: dev groth16 setup seconds (2^${setup.ptauPower} ptau)`,
            value: setup.setupSeconds,
          },
        ]),
    ...ROUND_SIZES.map((n) => ({
      metric: `${label}: one chunk of a ${n}-trainer round, prove seconds (${Math.ceil(n / shape.trainers)} links × measured)`,
      value: Math.ceil(n / shape.trainers) * perLink,
    })),
  ];
  printTable(rows);
  const id = `K${shape.trainers}C${shape.chunkSize}`;
  await writeResults(
    "zk-chain",
    {
      [`linkConstraints${id}`]: setup.constraints,
      [`linkProveSeconds${id}`]: perLink,
      [`linkWitnessSeconds${id}`]: witnessSeconds / links.length,
      ...Object.fromEntries(
        ROUND_SIZES.map((n) => [`chunkProveSeconds${id}N${n}`, Math.ceil(n / shape.trainers) * perLink]),
      ),
    },
    rows,
  );
});
