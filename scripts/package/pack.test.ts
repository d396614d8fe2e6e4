/**
 * The `vain-node` package as an operator gets it, without the repository: `npm pack` in node/ (its prepack
 * compiles the node and adds the proving artifacts and the dashboard), `npm install <tarball>` in an empty
 * directory from the local npm cache (the registry only for what the cache lacks), then `npx vain-node --help`,
 * `init`, and `start --ui` against a chain the repository deployed; passes when the node's `/ready` answers 200
 * and it serves the shipped dashboard. Prints the tarball's and the installation's sizes.
 *
 * Opt-in (it packs, installs ~330 packages and takes minutes on a loaded machine, far over npm test's
 * budget): `npm run test:package`, which sets VAIN_PACKAGE_TEST=1. Run it behind the bench lock.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { startHardhatNode } from "../../test/support/hardhat-node.ts";
import type { HardhatNodeProcess } from "../../test/support/hardhat-node.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CHAIN_PORT = 18811;
const API_PORT = 18812;
const PASSWORD = "package-test";
/** Bounds a broken run only; every wait below polls for a state. */
const STEP_TIMEOUT_MS = 600_000;
const READY_TIMEOUT_MS = 180_000;

/**
 * The children's environment: Node 22 first on PATH (the test runs on it; npm and the bin's `env node` then
 * use it too), onnxruntime-node's install-time download skipped (no internet here; the CPU provider ships in
 * its package), and none of the npm variables of an enclosing `npm run` (they name the repository's package).
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("npm_") && !key.startsWith("npm_config_")) continue;
    env[key] = value;
  }
  return {
    ...env,
    PATH: `${dirname(process.execPath)}:${process.env["PATH"] ?? ""}`,
    ONNXRUNTIME_NODE_INSTALL: "skip",
    FORCE_COLOR: "0",
    VAIN_PRIVATE_KEY: "",
    VAIN_DATA_DIR: "",
    ...extra,
  };
}

interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), STEP_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

async function mustRun(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const result = await run(command, args, cwd, env);
  assert.equal(
    result.code,
    0,
    `${command} ${args.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`,
  );
  return result.stdout;
}

/** Size of a directory tree in KiB, as `du -sk` counts it. */
async function duKiB(path: string): Promise<number> {
  return Number((await mustRun("du", ["-sk", path], ROOT, process.env)).split("\t")[0]);
}

describe(
  "vain-node package: installed from its tarball without the repository, it runs init and start",
  {
    timeout: 1_800_000,
    skip: process.env["VAIN_PACKAGE_TEST"] !== "1" && "opt-in: npm run test:package (VAIN_PACKAGE_TEST=1)",
  },
  () => {
    let dir: string;
    let install: string;
    let tarball: string;
    let chain: HardhatNodeProcess | undefined;
    let node: ChildProcess | undefined;
    let nodeOutput = "";

    // A cancelled run may never reach `after`: never leave the node holding its ports.
    process.once("exit", () => node?.kill("SIGKILL"));

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "vain-package-"));
      install = join(dir, "operator");
      // The tarball's name from the directory, not from `npm pack --json`: prepack's output shares its stdout.
      await mustRun("npm", ["pack", "--pack-destination", dir], join(ROOT, "node"), childEnv());
      const packed = (await readdir(dir)).filter((name) => name.endsWith(".tgz"));
      assert.equal(packed.length, 1, `one tarball in ${dir}: ${packed.join(", ")}`);
      tarball = join(dir, packed[0]!);
      await mkdir(install);
      await writeFile(join(install, "package.json"), JSON.stringify({ name: "operator", private: true }));
      await mustRun(
        "npm",
        ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball],
        install,
        childEnv(),
      );
    });

    after(async () => {
      if (node !== undefined && node.exitCode === null && node.signalCode === null) {
        const exited = new Promise((resolve) => node!.once("exit", resolve));
        node.kill("SIGTERM");
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
        node.kill("SIGKILL");
      }
      await chain?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it("installs a copy of the package, not a link to the repository, with its own compiled code", async () => {
      const installed = join(install, "node_modules", "vain-node");
      assert.ok(
        (await lstat(installed)).isDirectory(),
        "node_modules/vain-node is a directory, not a symlink",
      );
      await assert.rejects(stat(join(installed, "cli", "main.ts")), "no TypeScript sources ship");
      await stat(join(installed, "dist", "cli", "main.js"));
      // The proving artifacts load from the package, checked against their manifest, as the node loads them.
      const probe = `const m = await import(${JSON.stringify(join(installed, "dist/proofs/artifacts.js"))}); const a = await m.loadProofArtifacts(); console.log(a.zkey.length);`;
      const zkeyBytes = Number(
        await mustRun(process.execPath, ["--input-type=module", "-e", probe], install, childEnv()),
      );
      assert.ok(zkeyBytes > 1_000_000, `zkey of ${zkeyBytes} bytes`);
    });

    it("trains in the package's own worker thread (compiled worker, onnxruntime-node, bundled MNIST)", async () => {
      // A file, not `-e`: worker threads inherit the parent's flags, and `--input-type` refuses a file.
      const probe = join(install, "probe-training.mjs");
      await writeFile(
        probe,
        [
          'const dist = new URL("./node_modules/vain-node/dist/", import.meta.url);',
          'const { TrainingPool } = await import(new URL("training/pool.js", dist));',
          'const { createModel } = await import(new URL("training/architectures.js", dist));',
          'const { loadMnist } = await import(new URL("training/data/mnist.js", dist));',
          "const { test } = loadMnist({ seed: 3, testFraction: 0.1 });",
          "const pool = new TrainingPool({ size: 1 });",
          'const result = await pool.evaluate({ kind: "mlp" }, createModel({ kind: "mlp" }).init(1), test);',
          "await pool.close();",
          "console.log(JSON.stringify(result));",
        ].join("\n"),
      );
      const result = JSON.parse(await mustRun(process.execPath, [probe], install, childEnv())) as {
        accuracy: number;
        loss: number;
      };
      assert.ok(
        result.accuracy >= 0 && result.accuracy <= 1 && Number.isFinite(result.loss),
        JSON.stringify(result),
      );
    });

    it("runs `npx vain-node --help`; `demo` says in one line that it needs the repository", async () => {
      const help = await mustRun("npx", ["vain-node", "--help"], install, childEnv());
      for (const command of ["init", "start", "stake", "fund"])
        assert.match(help, new RegExp(`\\b${command}\\b`));
      // The demo needs the repository's Hardhat: one line that says so, no stack trace.
      const demo = await run("npx", ["vain-node", "demo"], install, childEnv());
      assert.notEqual(demo.code, 0);
      assert.match(demo.stderr, /no Hardhat in .*runs from the vAIn repository/);
      assert.doesNotMatch(demo.stderr, /^\s+at /m);
    });

    it("inits a data directory and starts a node that becomes ready and serves the dashboard", async () => {
      chain = await startHardhatNode(CHAIN_PORT);
      const deployment = join(dir, "deployment.json");
      // The chain is deployed by the repository beforehand: the operator only joins it.
      await mustRun(
        process.execPath,
        ["scripts/deploy.ts", "--rpc", chain.rpcUrl, "--out", deployment],
        ROOT,
        childEnv(),
      );
      const env = childEnv({ VAIN_PASSWORD: PASSWORD });
      const dataDir = join(install, ".vain");
      const init = JSON.parse(
        await mustRun("npx", ["vain-node", "init", "--data-dir", dataDir, "--json"], install, env),
      ) as { address: string };
      assert.match(init.address, /^0x[0-9a-fA-F]{40}$/);

      // The installed bin itself rather than `npx` (which ran --help and init above): its PID is the node's, so
      // the test stops exactly the process it started.
      node = spawn(
        join(install, "node_modules/.bin/vain-node"),
        [
          "start",
          "--data-dir",
          dataDir,
          "--rpc",
          chain.rpcUrl,
          "--deployment",
          deployment,
          "--api-port",
          String(API_PORT),
          "--ui",
        ],
        { cwd: install, env, stdio: ["ignore", "pipe", "pipe"] },
      );
      node.stdout?.on("data", (chunk: Buffer) => (nodeOutput += chunk.toString()));
      node.stderr?.on("data", (chunk: Buffer) => (nodeOutput += chunk.toString()));
      const api = `http://127.0.0.1:${API_PORT}`;
      const deadline = Date.now() + READY_TIMEOUT_MS;
      for (;;) {
        assert.equal(node.exitCode, null, `the node exited:\n${nodeOutput}`);
        assert.ok(
          Date.now() < deadline,
          `not ready within ${READY_TIMEOUT_MS} ms:\n${nodeOutput.slice(-4000)}`,
        );
        const status = await fetch(`${api}/ready`).then(
          (response) => response.status,
          () => 0,
        );
        if (status === 200) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const page = await fetch(`${api}/`);
      assert.equal(page.status, 200);
      const html = await page.text();
      const shipped = await readFile(
        join(install, "node_modules/vain-node/dist/assets/web/index.html"),
        "utf8",
      );
      assert.equal(html, shipped, "serves the dashboard build the package ships");
    });

    it("reports the tarball's and the installation's sizes", async (t) => {
      const tarballMiB = (await stat(tarball)).size / 2 ** 20;
      const installMiB = (await duKiB(join(install, "node_modules"))) / 1024;
      t.diagnostic(
        `tarball ${tarballMiB.toFixed(1)} MiB; installed node_modules ${installMiB.toFixed(0)} MiB`,
      );
      assert.ok(installMiB < 870, "smaller than the repository's installation");
    });
  },
);
