/**
 * Builds web/dist with Vite's JS API when it is missing or older than any of its sources, so `npm test` on a
 * fresh clone tests the current dashboard without a separate build step.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "vite";

const WEB = fileURLToPath(new URL("..", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Everything the bundle is made from. */
const SOURCES = [
  join(WEB, "index.html"),
  join(WEB, "vite.config.ts"),
  join(WEB, "src"),
  join(ROOT, "node/api/status.ts"),
  join(ROOT, "node/chain/generated/contracts.ts"),
];

async function newestMtimeMs(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(path);
  const times = await Promise.all(entries.map((entry) => newestMtimeMs(join(path, entry))));
  return Math.max(info.mtimeMs, ...times);
}

/** Returns web/dist, building it first when stale. */
export async function ensureDashboardBuilt(): Promise<{ dir: string; built: boolean }> {
  const dir = join(WEB, "dist");
  let builtAt = 0;
  try {
    builtAt = (await stat(join(dir, "index.html"))).mtimeMs;
  } catch {
    builtAt = 0;
  }
  const sourcesAt = Math.max(...(await Promise.all(SOURCES.map(newestMtimeMs))));
  if (builtAt > sourcesAt) return { dir, built: false };
  await build({ root: WEB, configFile: join(WEB, "vite.config.ts"), logLevel: "warn" });
  return { dir, built: true };
}
