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
// Node's on-disk compile cache (in the OS temp directory): a restarted node spends most of its start-up loading
// modules (2.4 s instead of 3.6 s here), and a restarted aggregator must post within its aggregation window.
module.enableCompileCache?.();
const sources = new URL("../cli/main.ts", import.meta.url);
const { main } = await import(existsSync(sources) ? sources.href : "../dist/cli/main.js");
process.exitCode = await main(process.argv);
