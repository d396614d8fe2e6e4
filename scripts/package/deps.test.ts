/**
 * node/package.json declares exactly what the node imports at run time, at the versions the repository
 * tests with (the root lockfile), and the packed package leaves tests out. Cheap: reads files only; the
 * install itself is pack.test.ts (opt-in).
 */
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { ShrinkwrapError, shrinkwrapFromLock } from "./shrinkwrap.ts";
import type { Lockfile } from "./shrinkwrap.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NODE = join(ROOT, "node");

/** Imported by the node but only where the package never goes, each with the reason. */
const CHECKOUT_ONLY: Record<string, string> = {
  vite: "builds web/dist in a checkout (api/dashboard.ts); the package ships the build",
};

interface NodePackage {
  readonly files: readonly string[];
  readonly bin: Record<string, string>;
  readonly dependencies: Record<string, string>;
  readonly scripts: Record<string, string>;
}

/** Whether a file ships in the package's dist/ (node/tsconfig.pack.json leaves tests and test fixtures out). */
const ships = (path: string): boolean =>
  (path.endsWith(".ts") || path.endsWith(".js")) &&
  !path.endsWith(".test.ts") &&
  !path.endsWith(".d.ts") &&
  !path.split("/").includes("testing") &&
  !path.startsWith("dist/");

async function shippedSources(dir: string = NODE): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && entry.name !== "dist") out.push(...(await shippedSources(path)));
    } else if (ships(relative(NODE, path))) out.push(path);
  }
  return out;
}

/** Package name of a bare specifier (`@scope/name/sub` → `@scope/name`), undefined for relative and built-ins. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("node:") || specifier.startsWith("data:"))
    return undefined;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  return builtinModules.includes(name) ? undefined : name;
}

/** Packages a source file loads at run time: static imports and re-exports (not type-only), import(), require(). */
function runtimeImports(source: string): Set<string> {
  const names = new Set<string>();
  const add = (specifier: string | undefined) => {
    const name = specifier === undefined ? undefined : packageOf(specifier);
    if (name !== undefined) names.add(name);
  };
  for (const match of source.matchAll(
    /^\s*(?:import|export)\s+(type\s+)?[^;]*?\bfrom\s+["']([^"']+)["']/gms,
  )) {
    if (match[1] === undefined) add(match[2]);
  }
  for (const match of source.matchAll(/^\s*import\s+["']([^"']+)["']/gm)) add(match[1]);
  for (const match of source.matchAll(/\bimport\(\s*["'`]([^"'`$]+)["'`]/g)) add(match[1]);
  for (const match of source.matchAll(/\brequire(?:\.resolve)?\(\s*["'`]([^"'`$]+)/g)) add(match[1]);
  return names;
}

test("node/package.json declares exactly the node's run-time imports, at the root lockfile's versions", async () => {
  const pkg = JSON.parse(await readFile(join(NODE, "package.json"), "utf8")) as NodePackage;
  const imported = new Map<string, string>();
  for (const file of await shippedSources()) {
    for (const name of runtimeImports(await readFile(file, "utf8"))) imported.set(name, relative(ROOT, file));
  }
  const needed = [...imported.keys()].filter((name) => !(name in CHECKOUT_ONLY)).sort();
  const declared = Object.keys(pkg.dependencies).sort();
  assert.deepEqual(
    declared.filter((name) => !needed.includes(name)),
    [],
    "declared but never imported at run time",
  );
  assert.deepEqual(
    needed.filter((name) => !declared.includes(name)).map((name) => `${name} (${imported.get(name)})`),
    [],
    "imported at run time but not declared in node/package.json",
  );
  const lock = JSON.parse(await readFile(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version?: string }>;
  };
  for (const [name, range] of Object.entries(pkg.dependencies)) {
    assert.equal(
      range,
      lock.packages[`node_modules/${name}`]?.version,
      `${name}: node/package.json pins ${range}, the repository tests with the root lockfile's version`,
    );
  }
});

test("the package ships its bin and compiled dist/, built at pack time and removed after", async () => {
  const pkg = JSON.parse(await readFile(join(NODE, "package.json"), "utf8")) as NodePackage;
  // NOTICE: the WordNet 3.1 licence the text task's data comes under (README, data).
  assert.deepEqual([...pkg.files].sort(), ["NOTICE", "bin/", "dist/", "npm-shrinkwrap.json"]);
  assert.equal(pkg.bin["vain-node"], "./bin/vain-node.js");
  assert.match(pkg.scripts["prepack"] ?? "", /scripts\/package\/build\.ts$/);
  assert.match(pkg.scripts["postpack"] ?? "", /scripts\/package\/build\.ts --clean$/);
  const tsconfig = JSON.parse(await readFile(join(NODE, "tsconfig.pack.json"), "utf8")) as {
    exclude: readonly string[];
  };
  assert.ok(tsconfig.exclude.includes("**/*.test.ts") && tsconfig.exclude.includes("**/testing/**"));
});

test("the run-time import scan sees static, dynamic and required packages but not type-only ones", () => {
  const source = [
    'import { a } from "viem";',
    'import type { B } from "vite";',
    "import {",
    "  c,",
    '} from "@libp2p/tcp/sub";',
    'export { d } from "zod";',
    'const e = await import("pino-pretty");',
    "const f = require(`mnist/src/digits/${1}.json`);",
    'import { g } from "./local.ts";',
    'import { h } from "node:fs";',
  ].join("\n");
  assert.deepEqual([...runtimeImports(source)].sort(), [
    "@libp2p/tcp",
    "mnist",
    "pino-pretty",
    "viem",
    "zod",
  ]);
});

test("the package's shrinkwrap is the root lockfile's run-time tree, closed and without development tools", async () => {
  const lock = JSON.parse(await readFile(join(ROOT, "package-lock.json"), "utf8")) as Lockfile;
  const manifest = JSON.parse(await readFile(join(NODE, "package.json"), "utf8")) as Parameters<
    typeof shrinkwrapFromLock
  >[2];
  const wrap = shrinkwrapFromLock(lock, "node", manifest);
  const paths = Object.keys(wrap.packages).filter((path) => path !== "");
  for (const [name, version] of Object.entries(manifest.dependencies)) {
    assert.equal(wrap.packages[`node_modules/${name}`]?.version, version, name);
  }
  for (const tool of ["hardhat", "vite", "typescript", "circom2", "node", "playwright-core"]) {
    assert.ok(!paths.includes(`node_modules/${tool}`), `${tool} is a development tool, not shipped`);
  }
  for (const path of paths) {
    const entry = wrap.packages[path]!;
    assert.equal(entry.version, lock.packages[path]?.version, path);
    assert.equal(entry["dev"], undefined, `${path} carries the repository's dev flag`);
  }
  assert.throws(
    () => shrinkwrapFromLock(lock, "node", { ...manifest, dependencies: { "no-such-package": "1.0.0" } }),
    ShrinkwrapError,
  );
});

test("workers start through siblingModule, whose extension follows the caller's (.ts here, .js packed)", async () => {
  for (const file of await shippedSources()) {
    const source = await readFile(file, "utf8");
    assert.doesNotMatch(
      source,
      /new Worker\(\s*new URL\(\s*["'`][^"'`]+\.ts["'`]/,
      `${relative(ROOT, file)}: a literal .ts worker URL is not rewritten by the compiler, so the packed node cannot start it; use siblingModule (node/runtime/assets.ts)`,
    );
  }
});
