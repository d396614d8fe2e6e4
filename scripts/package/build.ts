/**
 * Builds what the packed `vain-node` package ships besides bin/ (the `prepack` script of node/package.json),
 * so the package runs on plain Node >= 22.18 without the repository:
 *  - node/dist: the node's TypeScript compiled to JavaScript (node/tsconfig.pack.json). Node refuses to strip
 *    types under node_modules, so the installed package cannot run the sources as a checkout does;
 *  - node/dist/assets/circuits: the proving artifacts (wasm, zkey, verification key, manifest), copied from
 *    circuits/artifacts and checked against their manifest;
 *  - node/dist/assets/web: the dashboard, built by Vite from web/;
 *  - node/npm-shrinkwrap.json: the run-time dependency tree at the root lockfile's versions (shrinkwrap.ts).
 * Where the node looks for them: node/runtime/assets.ts. `--clean` (the `postpack` script) removes node/dist
 * and the shrinkwrap again, so the checkout keeps running its sources under the root lockfile.
 *
 * Usage: node scripts/package/build.ts [--clean]
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { build as viteBuild } from "vite";

import { loadProofArtifacts } from "../../node/proofs/artifacts.ts";
import { PACKAGED_ASSETS } from "../../node/runtime/assets.ts";
import { shrinkwrapFromLock } from "./shrinkwrap.ts";
import type { Lockfile } from "./shrinkwrap.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NODE = join(ROOT, "node");
const DIST = join(NODE, "dist");
const SHRINKWRAP = join(NODE, "npm-shrinkwrap.json");
const require = createRequire(import.meta.url);

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error === null ? resolve() : reject(new Error(`${args.join(" ")} failed:\n${stdout}${stderr}`)),
    );
  });
}

/** Copies the artifacts the manifest names (and the manifest), then loads the copy as the node will. */
async function copyCircuitArtifacts(): Promise<void> {
  const from = join(ROOT, "circuits/artifacts");
  const to = join(DIST, PACKAGED_ASSETS.circuits);
  await mkdir(to, { recursive: true });
  const manifest = JSON.parse(await readFile(join(from, "manifest.json"), "utf8")) as {
    files: Record<string, string>;
  };
  for (const name of [...Object.keys(manifest.files), "manifest.json"]) {
    await copyFile(join(from, name), join(to, name));
  }
  await loadProofArtifacts(to);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { clean: { type: "boolean", default: false } } });
  await rm(DIST, { recursive: true, force: true });
  await rm(SHRINKWRAP, { force: true });
  if (values.clean) return;
  const started = Date.now();
  await run(process.execPath, [
    require.resolve("typescript/bin/tsc"),
    "-p",
    join(NODE, "tsconfig.pack.json"),
  ]);
  await copyCircuitArtifacts();
  const web = join(ROOT, "web");
  await viteBuild({
    root: web,
    configFile: join(web, "vite.config.ts"),
    logLevel: "warn",
    build: { outDir: join(DIST, PACKAGED_ASSETS.dashboard), emptyOutDir: true },
  });
  const lock = JSON.parse(await readFile(join(ROOT, "package-lock.json"), "utf8")) as Lockfile;
  const manifest = JSON.parse(await readFile(join(NODE, "package.json"), "utf8")) as Parameters<
    typeof shrinkwrapFromLock
  >[2];
  await writeFile(SHRINKWRAP, `${JSON.stringify(shrinkwrapFromLock(lock, "node", manifest), null, 2)}\n`);
  process.stdout.write(
    `vain-node package built into ${DIST} in ${Math.round((Date.now() - started) / 1000)} s\n`,
  );
}

await main();
