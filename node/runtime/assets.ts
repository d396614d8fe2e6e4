/**
 * Where the node finds what it needs at run time besides its code: the proving artifacts and the built
 * dashboard (the contract ABIs are compiled in: chain/generated/contracts.ts). There are two layouts, told
 * apart by how this very module runs:
 *  - a repository checkout runs node/'s TypeScript sources through Node's type stripping: the files are the
 *    repository's own (circuits/artifacts from `npm run zk:setup`, web/dist built by Vite from web/);
 *  - the installed `vain-node` package runs the JavaScript compiled into <package>/dist when it was packed
 *    (Node refuses to strip types under node_modules), with the files copied beside it into
 *    <package>/dist/assets by scripts/package/build.ts. It never looks outside its own package.
 */
import { fileURLToPath } from "node:url";

/** True when running the TypeScript sources of a checkout, false in the compiled, installed package. */
export const RUNS_FROM_SOURCES = import.meta.url.endsWith(".ts");

/** node/ in a checkout, <package>/dist/ once installed: the directory holding cli/, proofs/, runtime/, … */
const CODE_ROOT = new URL("../", import.meta.url);
/** The repository root of a checkout (meaningless in the installed package, never used there). */
const REPO_ROOT = new URL("../", CODE_ROOT);

/** Where the packed files go inside the code root, relative to it (scripts/package/build.ts writes them). */
export const PACKAGED_ASSETS = {
  circuits: "assets/circuits/",
  dashboard: "assets/web/",
} as const;

const codePath = (relative: string): string => fileURLToPath(new URL(relative, CODE_ROOT));
const repoPath = (relative: string): string => fileURLToPath(new URL(relative, REPO_ROOT));

/** Directory of the proving artifacts (wasm, zkey, verification key, manifest), with a trailing slash. */
export function circuitArtifactsDir(): string {
  return RUNS_FROM_SOURCES ? repoPath("circuits/artifacts/") : codePath(PACKAGED_ASSETS.circuits);
}

/**
 * The circuit's sources (main file, then the templates it includes), whose hash pins the artifacts; none in
 * the installed package, where the circuit cannot change under the artifacts.
 */
export function circuitSourceFiles(): readonly string[] {
  if (!RUNS_FROM_SOURCES) return [];
  return ["aggregate.circom", "aggregate-chunk.circom"].map((name) => repoPath(`circuits/${name}`));
}

/** Directory of the built dashboard: web/dist in a checkout, the shipped build in the package. */
export function dashboardBuildDir(): string {
  return RUNS_FROM_SOURCES ? repoPath("web/dist") : codePath(PACKAGED_ASSETS.dashboard);
}

/** The dashboard's sources in a checkout (Vite builds them), none in the installed package. */
export function dashboardSourcesDir(): string | undefined {
  return RUNS_FROM_SOURCES ? repoPath("web") : undefined;
}

/**
 * A module beside `from` (an `import.meta.url`) for `new Worker(...)`: `stem` plus the caller's own extension,
 * since a worker's URL is a string the compiler does not rewrite from .ts to .js.
 */
export function siblingModule(from: string, stem: string): URL {
  return new URL(`${stem}${from.endsWith(".ts") ? ".ts" : ".js"}`, from);
}
