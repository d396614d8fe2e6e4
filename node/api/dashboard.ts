/**
 * Where the built dashboard lives, for `createStatusServer({ uiDir: dashboardDir() })` (`vain-node start --ui`
 * and the demo). The files come from `npm run build:web` (Vite, web/ → web/dist); they are not committed.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Absolute path of web/dist in this checkout. */
export function dashboardDir(): string {
  return fileURLToPath(new URL("../../web/dist", import.meta.url));
}

/** True when web/dist holds a build (its index.html). */
export function isDashboardBuilt(dir: string = dashboardDir()): boolean {
  return existsSync(`${dir}/index.html`);
}
