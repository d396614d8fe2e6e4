/**
 * Test files run two at a time (`--test-concurrency=2`), so two files that listen on the same fixed TCP port
 * fail each other at random (PORT_IN_USE: 18781 was once the short soak's chain, the delegation browser test's
 * and the package test's). This test reads every TypeScript file of the repository and fails when one fixed
 * port is declared in two files: a `const …PORT… = N` or a `port: N` literal. Mentions of a port in a URL or a
 * comment are references to a declaration elsewhere and are not counted. Choosing a port: pick one no file
 * declares (this test names the holder of a taken one).
 */
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const SCANNED = ["node", "scripts", "web", "test"];
const SKIPPED_DIRS = new Set(["node_modules", "dist", "artifacts", "cache", ".git"]);
/** Fixed test ports live in 10000–65535; lower numbers in these patterns are not ports the tests bind. */
const MIN_PORT = 10_000;
/** A five-digit literal, with or without a numeric separator (`18_871` hid a clash with `18871` for a session). */
const NUMBER = String.raw`(\d{2}_?\d{3})`;
const DECLARATIONS = [
  new RegExp(String.raw`\bconst\s+[A-Z0-9_]*PORT[A-Z0-9_]*\s*=\s*${NUMBER}\b`, "g"),
  new RegExp(String.raw`\bport:\s*${NUMBER}\b`, "g"),
];

async function* typeScriptFiles(dir: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) yield* typeScriptFiles(join(dir, entry.name));
    } else if (entry.name.endsWith(".ts")) {
      yield join(dir, entry.name);
    }
  }
}

/** Fixed ports each file declares, with the line of each declaration. */
export function declaredPorts(source: string): Map<number, number> {
  const ports = new Map<number, number>();
  for (const pattern of DECLARATIONS) {
    for (const match of source.matchAll(pattern)) {
      const port = Number(match[1]!.replace("_", ""));
      if (port < MIN_PORT || port > 65_535) continue;
      const line = source.slice(0, match.index).split("\n").length;
      if (!ports.has(port)) ports.set(port, line);
    }
  }
  return ports;
}

describe("fixed test ports", () => {
  it("finds declarations and ignores references", () => {
    const source = [
      "const CHAIN_PORT = 18781;",
      "const OTHER_PORT = 18_871;",
      "const server = createStatusServer({ source, port: 18602 });",
      'const url = "http://127.0.0.1:18609"; // a dead RPC, never bound',
      "const TIMEOUT = 60000;",
      "const PORT = 8545;",
    ].join("\n");
    assert.deepEqual([...declaredPorts(source).keys()].sort(), [18602, 18781, 18871]);
  });

  it("no port is declared by two files", async () => {
    const holders = new Map<number, string[]>();
    for (const top of SCANNED) {
      for await (const file of typeScriptFiles(join(ROOT, top))) {
        if (file === SELF) continue; // its own examples above are not ports
        for (const [port, line] of declaredPorts(await readFile(file, "utf8"))) {
          const list = holders.get(port) ?? [];
          list.push(`${relative(ROOT, file)}:${line}`);
          holders.set(port, list);
        }
      }
    }
    assert.ok(holders.size >= 10, `expected the repository's test ports, found ${holders.size}`);
    const shared = [...holders].filter(([, files]) => files.length > 1);
    assert.deepEqual(
      shared.map(([port, files]) => `${port}: ${files.join(", ")}`),
      [],
      "each fixed port must belong to one file (tests run two files at once)",
    );
  });
});
