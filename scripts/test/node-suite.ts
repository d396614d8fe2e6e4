/**
 * The node suite: every node:test file of the repository (`node/**`, `scripts/**`, `web/**`, `*.test.ts`), run
 * isolated, three at a time, **longest first**.
 *
 * Why not `node --test <globs>`: the CLI sorts its file list by path, so a long file whose path sorts late starts
 * late and runs alone at the end (the short soak, 212 s, in scripts/, started after every node/ file). Started
 * longest first (LPT scheduling), the files of the quiet fresh-clone CI of 2026-12-06 fit in 859 s of a 3-slot
 * schedule instead of 948 s. Order is all the durations file changes: a stale or missing entry costs time, never
 * a test.
 *
 * Usage: node scripts/test/node-suite.ts [--record] [path ...]
 *   path      run only the files under these paths (relative to the repository), e.g. `node/p2p`
 *   --record  rewrite scripts/test/durations.json from this run's per-file times (a whole run, quiet machine).
 */
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { finished } from "node:stream/promises";
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DURATIONS_FILE = fileURLToPath(new URL("durations.json", import.meta.url));
const TEST_ROOTS = ["scripts", "node", "web"] as const;
/** Directories that hold no test of ours (dependencies, build output). */
const SKIPPED_DIRS = new Set(["node_modules", "dist", "build"]);
/**
 * Three files at a time: at two the whole CI used 1.47 of the 2 cores (1,923 CPU s over 1,312 s; its network
 * files wait on chain windows), and three took the node suite from 1,086 to 968 s, all green (fresh clones on a
 * quiet machine, 2026-12-06). At load 13-16 from other jobs three let CPU-bound files pass their 600 s budget:
 * CI needs the machine to itself.
 */
const CONCURRENCY = 3;
/** Per file (files run isolated), so per test too: the short soak runs three unattended rounds with kills. */
const FILE_TIMEOUT_MS = 600_000;
/** A file not in the durations file (new): placed as a file of this many seconds would be. */
const UNKNOWN_FILE_SECONDS = 10;
/** Files shorter than this are left out of the durations file: their order does not matter. */
const RECORDED_MIN_SECONDS = 1;

/** Every `*.test.ts` under the test roots, as paths relative to the repository. */
export function testFiles(root = ROOT): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(path);
      } else if (entry.name.endsWith(".test.ts")) found.push(relative(root, path));
    }
  };
  for (const dir of TEST_ROOTS) walk(join(root, dir));
  return found.sort();
}

/** Longest first by the recorded seconds; ties (and unknown files at the same estimate) by path. */
export function longestFirst(files: readonly string[], seconds: Readonly<Record<string, number>>): string[] {
  const estimate = (file: string) => seconds[file] ?? UNKNOWN_FILE_SECONDS;
  return [...files].sort((a, b) => estimate(b) - estimate(a) || a.localeCompare(b));
}

function readDurations(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(DURATIONS_FILE, "utf8")) as Record<string, number>;
  } catch {
    return {};
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { record: { type: "boolean", default: false } },
    allowPositionals: true,
  });
  const selected = testFiles().filter(
    (file) => positionals.length === 0 || positionals.some((path) => file.startsWith(path)),
  );
  const files = longestFirst(selected, readDurations());
  // Tests read fixtures and spawn nodes relative to the repository, as under `npm test`.
  process.chdir(ROOT);
  const measured = new Map<string, number>();
  const stream = run({
    files: files.map((file) => join(ROOT, file)),
    concurrency: CONCURRENCY,
    timeout: FILE_TIMEOUT_MS,
    // A file whose tests all finished must not hang on a leaked handle (e.g. a socket libp2p left open).
    forceExit: true,
  });
  stream.on("test:fail", () => {
    process.exitCode = 1;
  });
  // A file's time is the sum of its top-level tests' (a file without tests reports itself as one).
  const addTime = (data: { nesting: number; file?: string; details: { duration_ms: number } }) => {
    if (data.nesting !== 0 || data.file === undefined) return;
    const file = relative(ROOT, data.file);
    measured.set(file, (measured.get(file) ?? 0) + data.details.duration_ms / 1000);
  };
  stream.on("test:pass", addTime);
  stream.on("test:fail", addTime);
  const report = stream.compose(spec);
  report.pipe(process.stdout);
  await finished(report);
  if (values.record) {
    const kept = [...measured].filter(([, s]) => s >= RECORDED_MIN_SECONDS).sort((a, b) => b[1] - a[1]);
    const json = Object.fromEntries(kept.map(([file, s]) => [file, Math.round(s * 10) / 10]));
    writeFileSync(DURATIONS_FILE, `${JSON.stringify(json, null, 2)}\n`);
    process.stderr.write(`recorded ${kept.length} file durations in ${relative(ROOT, DURATIONS_FILE)}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
  // Every file has ended: exit now, whatever a test file left behind. A leaked process that inherited a file's
  // stderr keeps our end of that pipe open, and without this the suite never exited (CI then hit its 90-minute
  // limit with every test done). run-all.ts ends such leftovers with the suite's process group.
  process.exit();
}
