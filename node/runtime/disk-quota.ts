/**
 * Keeps the data directory within the operator's disk quota (`resources.maxDiskBytes`, node/resources/limits.ts).
 * The round store (node/protocol/round-store.ts) grows by one directory of updates per round and one file per
 * model; when the directory is over its quota the guard deletes what the node can do without, oldest first:
 * 1. round directories except the newest `keepRounds` (a round's updates are needed until it is judged, and a
 *    round lasts at most 12 h, far less than the time it takes to become one of the oldest);
 * 2. model files except the newest `keepModels` (models are named by content hash and re-fetched from peers).
 * Keys, the keystore, config, reputation and checkpoints are never touched. If the quota is still exceeded, the
 * guard says so (gauge and log) rather than deleting state the node must not lose.
 */
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";

import type { Logger } from "pino";
import { Gauge } from "prom-client";
import type { Registry } from "prom-client";

/** How often the guard measures the data directory: disk fills by one round's updates at a time. */
export const DISK_QUOTA_CHECK_INTERVAL_MS = 60_000;
/** Newest rounds always kept: the current one and the previous (whose challenges may still be open). */
export const DISK_QUOTA_KEEP_ROUNDS = 2;
/** Newest models always kept: the current global model and its base. */
export const DISK_QUOTA_KEEP_MODELS = 2;

export interface DiskQuotaGuardOptions {
  readonly dataDir: string;
  readonly quotaBytes: number;
  readonly keepRounds?: number;
  readonly keepModels?: number;
  readonly intervalMs?: number;
  readonly log?: Logger;
  readonly metrics?: Registry;
}

export interface DiskQuotaReport {
  readonly usedBytes: number;
  readonly freedBytes: number;
  readonly removed: readonly string[];
  readonly overQuota: boolean;
}

/** Total size of the files under `path` (0 when it does not exist). */
export async function directoryBytes(path: string): Promise<number> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  let total = 0;
  for (const entry of entries) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) total += await directoryBytes(full);
    else if (entry.isFile()) total += (await stat(full).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

export class DiskQuotaGuard {
  private readonly options: DiskQuotaGuardOptions;
  private timer: ReturnType<typeof setInterval> | undefined;
  private running = false;
  private readonly used: Gauge | undefined;
  private readonly over: Gauge | undefined;

  constructor(options: DiskQuotaGuardOptions) {
    this.options = options;
    if (options.metrics !== undefined) {
      const registers = [options.metrics];
      this.used = new Gauge({
        name: "vain_data_dir_bytes",
        help: "Bytes used by the data directory",
        registers,
      });
      this.over = new Gauge({
        name: "vain_data_dir_over_quota",
        help: "1 while the data directory exceeds the disk quota after eviction",
        registers,
      });
    }
  }

  start(): void {
    void this.check().catch(() => undefined);
    this.timer = setInterval(
      () => void this.check().catch(() => undefined),
      this.options.intervalMs ?? DISK_QUOTA_CHECK_INTERVAL_MS,
    );
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Measures the directory and evicts what may go until it fits. */
  async check(): Promise<DiskQuotaReport> {
    if (this.running) return { usedBytes: 0, freedBytes: 0, removed: [], overQuota: false };
    this.running = true;
    try {
      const { dataDir, quotaBytes } = this.options;
      let used = await directoryBytes(dataDir);
      const start = used;
      const removed: string[] = [];
      if (used > quotaBytes) {
        for (const victim of await this.candidates()) {
          if (used <= quotaBytes) break;
          const bytes = await directoryBytes(victim).then((b) =>
            b > 0
              ? b
              : stat(victim).then(
                  (s) => s.size,
                  () => 0,
                ),
          );
          await rm(victim, { recursive: true, force: true });
          used -= bytes;
          removed.push(victim);
        }
      }
      const overQuota = used > quotaBytes;
      this.used?.set(used);
      this.over?.set(overQuota ? 1 : 0);
      if (removed.length > 0) {
        this.options.log?.info(
          { removed: removed.length, freedBytes: start - used, usedBytes: used },
          "disk quota",
        );
      }
      if (overQuota) {
        this.options.log?.warn({ usedBytes: used, quotaBytes }, "data directory over its disk quota");
      }
      return { usedBytes: used, freedBytes: start - used, removed, overQuota };
    } finally {
      this.running = false;
    }
  }

  /** What may be deleted, in order: old rounds (oldest first), then old models (least recently written first). */
  private async candidates(): Promise<string[]> {
    const roundsDir = join(this.options.dataDir, "rounds");
    const rounds = (await readdir(roundsDir).catch((): string[] => []))
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
    const oldRounds = rounds
      .slice(0, Math.max(0, rounds.length - (this.options.keepRounds ?? DISK_QUOTA_KEEP_ROUNDS)))
      .map((name) => join(roundsDir, name));
    const modelsDir = join(this.options.dataDir, "models");
    const models: { path: string; mtimeMs: number }[] = [];
    for (const name of await readdir(modelsDir).catch((): string[] => [])) {
      if (!name.endsWith(".f32")) continue;
      const path = join(modelsDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info !== undefined) models.push({ path, mtimeMs: info.mtimeMs });
    }
    models.sort((a, b) => a.mtimeMs - b.mtimeMs);
    const oldModels = models
      .slice(0, Math.max(0, models.length - (this.options.keepModels ?? DISK_QUOTA_KEEP_MODELS)))
      .map((m) => m.path);
    return [...oldRounds, ...oldModels];
  }
}
