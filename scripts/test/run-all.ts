/**
 * Runs every test suite of the repository and prints the closing line CI reads:
 * `N passed, N failed`.
 *
 * Suites, run side by side (the node suite's files wait on chain windows and left 0.3 of the 2 cores idle, which
 * the Hardhat suite's compile and proofs use instead of running first for 146 s):
 *  - `hardhat`: Solidity tests (`contracts/**\/*.t.sol`) and mocha tests (`test/**\/*.test.ts`) in one
 *    Hardhat process, so contracts compile once. Its output is held and printed whole when it ends, so the two
 *    suites' lines do not interleave.
 *  - `node`: node:test unit tests beside the code (`node/**\/*.test.ts`, `scripts/**\/*.test.ts`) and the
 *    dashboard's tests (`web/**\/*.test.ts`, including its end-to-end test in headless Chromium), run by
 *    Node's own runner with type stripping, longest files first (scripts/test/node-suite.ts).
 *
 * Usage: node scripts/test/run-all.ts [--only hardhat|node]
 */
import type { ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { spawnTied } from "../../node/runtime/tied-spawn.ts";

interface SuiteResult {
  readonly name: string;
  readonly passed: number;
  readonly failed: number;
  readonly exitCode: number;
  /** Wall time (s). */
  readonly seconds: number;
}

interface Suite {
  readonly name: string;
  /** Print the output as it comes (one suite does), or hold it and print it whole at the end. */
  readonly stream: boolean;
  readonly command: string;
  readonly args: readonly string[];
  readonly parse: (output: string) => { passed: number; failed: number } | undefined;
}

/**
 * A suite still running after this long is killed and counted as failed, so CI always ends with its summary line.
 * The node suite takes ~16 min on a quiet machine and ~25 min at load 8; CI's hard limit is 90 min. Override with
 * VAIN_SUITE_BUDGET_MIN.
 */
const SUITE_BUDGET_MS = Number(process.env["VAIN_SUITE_BUDGET_MIN"] ?? 60) * 60_000;

/** Every suite runs in its own process group (see `runSuite`), so it can be ended whole. */
const running = new Set<ChildProcess>();

/**
 * The processes of a suite's group still alive, as `pid command` lines (pgrep), for the log. Zombies are left out:
 * they hold nothing (the Hardhat suite's exited esbuild service, `[esbuild] <defunct>`, until its parent reaps it).
 */
function groupMembers(pgid: number): string[] {
  try {
    return execFileSync("pgrep", ["-a", "-g", String(pgid)], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter((line) => !line.endsWith("<defunct>"));
  } catch {
    return []; // pgrep exits 1 when the group is empty
  }
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // the group is already empty
  }
}

/** Under the repository's (ignored) cache/ directory. */
const COMPILE_CACHE_DIR = fileURLToPath(new URL("../../cache/node-compile-cache", import.meta.url));

// eslint-disable-next-line no-control-regex
const ANSI_PATTERN = /\x1b\[[0-9;]*m/g;

function lastMatch(output: string, pattern: RegExp): number | undefined {
  let value: number | undefined;
  for (const match of output.matchAll(pattern)) value = Number(match[1]);
  return value;
}

/** Hardhat's combined summary: `N passing (...)` and, on failure, `N failing (...)`, last ones win. */
function parseHardhat(output: string): { passed: number; failed: number } | undefined {
  const passed = lastMatch(output, /^(\d+) passing/gm);
  if (passed === undefined) return undefined;
  return { passed, failed: lastMatch(output, /^(\d+) failing/gm) ?? 0 };
}

/** node:test spec reporter summary: `ℹ pass N` / `ℹ fail N`. */
function parseNodeTest(output: string): { passed: number; failed: number } | undefined {
  const passed = lastMatch(output, /^ℹ pass (\d+)/gm);
  const failed = lastMatch(output, /^ℹ fail (\d+)/gm);
  if (passed === undefined || failed === undefined) return undefined;
  return { passed, failed };
}

const SUITES: readonly Suite[] = [
  { name: "hardhat", stream: false, command: "hardhat", args: ["test"], parse: parseHardhat },
  {
    name: "node",
    stream: true,
    command: process.execPath,
    // Its own runner (node-suite.ts says why): longest files first, three at a time, 600 s per file.
    args: [fileURLToPath(new URL("node-suite.ts", import.meta.url))],
    parse: parseNodeTest,
  },
];

function runSuite(suite: Suite): Promise<SuiteResult> {
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  const header = `\n=== ${suite.name}: ${suite.command} ${suite.args.join(" ")}\n`;
  const print = (text: string) => process.stdout.write(text);
  if (suite.stream) print(header);
  return new Promise((resolve) => {
    // Its own process group (detached), so whatever a test file leaves behind can be found and ended with it: an
    // orphan that held the suite's stderr pipe once kept `close` from ever firing, and CI hit its 90-minute limit
    // with every test done. Tied, so a killed run-all takes the suite's leader with it.
    const child = spawnTied(suite.command, suite.args, {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        // V8's compiled code of every module, kept across the suite's ~200 test files and ~250 node and chain
        // processes (each inherits the variable): importing the node runtime took 1.2 CPU s instead of 1.56 once
        // cached (2026-12-06). Node checks each entry against its source, so an edit never runs stale code.
        NODE_COMPILE_CACHE: process.env["NODE_COMPILE_CACHE"] ?? COMPILE_CACHE_DIR,
        FORCE_COLOR: process.stdout.isTTY ? "1" : "0",
      },
    });
    running.add(child);
    let timedOut = false;
    const budget = setTimeout(() => {
      timedOut = true;
      process.stderr.write(
        `\n${suite.name} ran past its ${SUITE_BUDGET_MS / 60_000}-minute budget: killed\n`,
      );
      if (child.pid !== undefined) killGroup(child.pid);
    }, SUITE_BUDGET_MS);
    // The leader's exit ends the suite: whatever of its group is left (a leaked child holding a pipe) is listed and
    // killed, so `close` follows.
    child.on("exit", () => {
      clearTimeout(budget);
      running.delete(child);
      if (child.pid === undefined) return;
      const left = groupMembers(child.pid);
      if (left.length > 0) {
        process.stderr.write(
          `${suite.name} left ${left.length} process(es) running; killed:\n${left.map((l) => `  ${l}\n`).join("")}`,
        );
        killGroup(child.pid);
      }
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (suite.stream) process.stdout.write(chunk);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (suite.stream) process.stderr.write(chunk);
    });
    // A held suite's stdout and stderr come out together, in the order they arrived.
    if (!suite.stream) child.on("close", () => print(`${header}${output}\n=== ${suite.name} ended\n`));
    child.on("error", (error) => {
      process.stderr.write(`could not start ${suite.name}: ${error.message}\n`);
      resolve({ name: suite.name, passed: 0, failed: 1, exitCode: 1, seconds: seconds() });
    });
    child.on("close", (code) => {
      const exitCode = timedOut ? 1 : (code ?? 1);
      const counts = suite.parse(output.replace(ANSI_PATTERN, ""));
      if (counts === undefined) {
        // A suite that crashed before its summary still counts as a failure, never as silence.
        resolve({
          name: suite.name,
          passed: 0,
          failed: exitCode === 0 ? 0 : 1,
          exitCode,
          seconds: seconds(),
        });
        return;
      }
      const failed = exitCode !== 0 && counts.failed === 0 ? 1 : counts.failed;
      resolve({ name: suite.name, passed: counts.passed, failed, exitCode, seconds: seconds() });
    });
  });
}

const { values } = parseArgs({ options: { only: { type: "string" } } });
const selected = SUITES.filter((suite) => values.only === undefined || suite.name === values.only);
if (selected.length === 0) {
  process.stderr.write(
    `unknown suite "${values.only}"; choose one of: ${SUITES.map((s) => s.name).join(", ")}\n`,
  );
  process.exit(2);
}

// Ctrl-C or CI's own stop reaches run-all only (the suites run in groups of their own): end them too.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    for (const child of running) if (child.pid !== undefined) killGroup(child.pid);
    process.exit(130);
  });
}

const results = await Promise.all(selected.map((suite) => runSuite(suite)));

process.stdout.write("\n");
for (const result of results) {
  process.stdout.write(
    `${result.name}: ${result.passed} passed, ${result.failed} failed (${result.seconds} s)\n`,
  );
}
const passed = results.reduce((sum, r) => sum + r.passed, 0);
const failed = results.reduce((sum, r) => sum + r.failed, 0);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
