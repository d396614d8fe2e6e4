/**
 * Where the built dashboard lives, for `createStatusServer({ uiDir: dashboardDir() })` (`vain-node start --ui`,
 * the demo and the browser test). In a checkout the files come from Vite (web/ → web/dist) and are not
 * committed, so `ensureDashboardBuilt` builds them when missing or older than their sources: `--ui` works right
 * after `npm install`, and tests never serve a stale bundle. The installed package ships the build made when
 * it was packed (runtime/assets.ts) and serves it as it is.
 */
import { existsSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import type { build as viteBuild } from "vite";

import { dashboardBuildDir, dashboardSourcesDir } from "../runtime/assets.ts";
import { StatusServerError } from "./errors.ts";

type ViteBuild = typeof viteBuild;

const WEB = dashboardSourcesDir();

/** Everything the bundle is made from (none in the installed package). */
const SOURCES =
  WEB === undefined
    ? []
    : [
        join(WEB, "index.html"),
        join(WEB, "vite.config.ts"),
        join(WEB, "src"),
        fileURLToPath(new URL("./status.ts", import.meta.url)),
        fileURLToPath(new URL("../chain/generated/contracts.ts", import.meta.url)),
      ];

/** Absolute path of the built dashboard: web/dist in a checkout, the shipped build in the package. */
export function dashboardDir(): string {
  return dashboardBuildDir();
}

/** True when the dashboard directory holds a build (its index.html). */
export function isDashboardBuilt(dir: string = dashboardDir()): boolean {
  return existsSync(join(dir, "index.html"));
}

async function newestMtimeMs(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(path);
  const times = await Promise.all(entries.map((entry) => newestMtimeMs(join(path, entry))));
  return Math.max(info.mtimeMs, ...times);
}

export interface EnsureDashboardBuiltParameters {
  /** One line per step ("building the dashboard…", "dashboard built in 14 s"). */
  readonly onProgress?: (line: string) => void;
}

export interface EnsureDashboardBuiltReturnType {
  readonly dir: string;
  /** True when this call built it. */
  readonly built: boolean;
}

/**
 * Returns the dashboard's directory; in a checkout, builds web/dist with Vite first when it is missing or older
 * than its sources. Throws a
 * one-line `StatusServerError` (code UI_DIR_MISSING) when there is no build and none can be made (no web/
 * sources or no Vite, as in an installation without development dependencies) or the build fails.
 */
export async function ensureDashboardBuilt(
  params: EnsureDashboardBuiltParameters = {},
): Promise<EnsureDashboardBuiltReturnType> {
  const dir = dashboardDir();
  const builtAt = isDashboardBuilt(dir) ? (await stat(join(dir, "index.html"))).mtimeMs : 0;
  if (WEB === undefined) {
    // The installed package: the build made when it was packed, never rebuilt.
    if (builtAt > 0) return { dir, built: false };
    throw new StatusServerError(
      "UI_DIR_MISSING",
      `this vain-node package has no dashboard build in ${dir}: reinstall it, or start without --ui`,
    );
  }
  const hasSources = SOURCES.every((path) => existsSync(path));
  // A build without its sources is served as it is.
  if (builtAt > 0 && !hasSources) return { dir, built: false };
  if (hasSources && builtAt > Math.max(...(await Promise.all(SOURCES.map(newestMtimeMs))))) {
    return { dir, built: false };
  }
  let build: ViteBuild;
  try {
    ({ build } = await import("vite"));
  } catch {
    if (builtAt > 0) return { dir, built: false };
    throw new StatusServerError(
      "UI_DIR_MISSING",
      `no built dashboard in ${dir} and no Vite to build it: run \`npm run build:web\` in the repository, or start without --ui`,
    );
  }
  if (!hasSources) {
    throw new StatusServerError(
      "UI_DIR_MISSING",
      `no built dashboard in ${dir} and no web/ sources to build it`,
    );
  }
  params.onProgress?.(
    `building the dashboard into ${dir} (first --ui start or changed sources; a few seconds)…`,
  );
  const started = Date.now();
  try {
    // Errors only: Vite's warnings (e.g. the bundle size) are for developers, who see them in `npm run build:web`;
    // printed here they broke the node's JSON log stream with plain text an operator cannot act on.
    await build({ root: WEB, configFile: join(WEB, "vite.config.ts"), logLevel: "error" });
  } catch (error) {
    throw new StatusServerError(
      "UI_DIR_MISSING",
      `building the dashboard failed: ${(error as Error).message.split("\n")[0]}; run \`npm run build:web\` to see why`,
      { cause: error },
    );
  }
  params.onProgress?.(`dashboard built in ${Math.round((Date.now() - started) / 1000)} s`);
  return { dir, built: true };
}
