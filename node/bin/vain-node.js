#!/usr/bin/env node
// Entry point of `npx vain-node`. In a repository checkout the CLI is TypeScript run directly by Node's
// type stripping (Node >= 22.18), so start-up pays no compile or loader cost. The installed package has
// no sources but the JavaScript compiled when it was packed (dist/): Node refuses to strip types under
// node_modules. This file stays plain JavaScript so that an old Node prints one clear line instead of a
// syntax error.
import { existsSync } from "node:fs";
import module from "node:module";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `vain-node needs Node >= 22.18 (found ${process.versions.node}). ` +
      "In the repository, `npx vain-node` uses the Node 22 that `npm install` brings.\n",
  );
  process.exit(1);
}
// glibc's malloc with a fixed mmap threshold (128 KiB, its initial value): by default a freed mmapped block raises
// the threshold (up to 32 MiB), after which the node's update and model buffers (100 KB-1 MB) come from malloc's
// heaps and arenas, which fragment and rarely give memory back. An aggregator's work repeated 60 times in one
// process levelled off at ~610 MB RSS by default and ~430 MB with the fixed threshold, for 3-6% more CPU
// (scripts/bench/aggregator-rss.ts, docs/soak.md session 19). The variable is read when the process starts, so the
// node re-executes itself once with it (same PID: supervisors, signals and the parent-death signal are kept).
// An operator's own setting wins; VAIN_MALLOC_TUNING=0 turns this off. Other C libraries ignore the variable.
const MALLOC_MMAP_THRESHOLD_BYTES = "131072";
if (
  process.platform === "linux" &&
  typeof process.execve === "function" &&
  process.env.MALLOC_MMAP_THRESHOLD_ === undefined &&
  process.env.VAIN_MALLOC_TUNING !== "0"
) {
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    ...process.env,
    MALLOC_MMAP_THRESHOLD_: MALLOC_MMAP_THRESHOLD_BYTES,
  });
}
// Node's on-disk compile cache (in the OS temp directory): a restarted node spends most of its start-up loading
// modules (2.4 s instead of 3.6 s here), and a restarted aggregator must post within its aggregation window.
module.enableCompileCache?.();
const sources = new URL("../cli/main.ts", import.meta.url);
const { main } = await import(existsSync(sources) ? sources.href : "../dist/cli/main.js");
process.exitCode = await main(process.argv);
