#!/usr/bin/env node
// Entry point of `npx vain-node`. The CLI is TypeScript run directly by Node's type stripping
// (Node >= 22.18), so start-up pays no compile or loader cost. This file stays plain JavaScript
// so that an old Node prints one clear line instead of a syntax error.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `vain-node needs Node >= 22.18 (found ${process.versions.node}). ` +
      "Run it through `npx vain-node` in the repository, which uses the Node 22 installed by `npm install`.\n",
  );
  process.exit(1);
}
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv);
