/**
 * Keeps the data directory within the operator's disk quota (`resources.maxDiskBytes`, node/resources/limits.ts).
 * The round store (node/protocol/round-store.ts) grows by one directory of updates per round and one file per
 * model; when the directory is over its quota the guard deletes what the node can do without, oldest first:
 * 1. round directories except the newest `keepRounds` (a round's updates are needed until it is judged, and a
 *    round lasts at most 12 h, far less than the time it takes to become one of the oldest);
 * 2. model files except the newest `keepModels` (models are named by content hash and re-fetched from peers),
 *    never a pinned one (`pinnedModels`: the task's initial model, which an importing operator's node may be
 *    the only holder of: an imported ONNX model's weights exist nowhere else);
 * 3. round aggregates (`aggregates/`, the task's history peers replay to derive models) except the newest
 *    `keepAggregates`, oldest first: each is a few KiB, so they go last, and another holder serves a lost one.
 * Keys, the keystore, config, reputation and checkpoints are never touched. If the quota is still exceeded, the
 * guard says so (gauge and log) rather than deleting state the node must not lose. Every deletion is logged
 * with its path and size.
 *
 * Separately, the guard watches the free space of the file system under the data directory (every 5 s, one
 * `statfs`): below `minFreeBytes` the disk is full whatever the quota says, writes fail with ENOSPC, and a node
 * that kept going would retrain and fail in a loop. The guard then reports `onDiskFull` (the node takes no new
 * work, finishes duties it holds from memory, and turns not ready) and `onDiskRecovered` once twice that much is
 * free again. It deletes nothing for it (the quota is the operator's bound; a full disk may be other files'
 * doing), but it says what holds the space: the data directory's size against its quota and its largest entries,
 * and what the operator can do (free space, lower `resources.maxDiskBytes`, or move the directory). Session 16's
 * soak read the last "disk full" line of a node as a disk full for good; the next line said it had recovered.
 */
import { readdir, rm, stat, statfs } from "node:fs/promises";
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
/** Newest round aggregates always kept: the last hour of 1-minute rounds, a few KiB each. */
export const DISK_QUOTA_KEEP_AGGREGATES = 64;
/** How often free space is read: one statfs call, and a full disk must stop a retrain loop within seconds. */
export const DISK_SPACE_CHECK_INTERVAL_MS = 5_000;
/** Below this much free space the disk counts as full: a round's state (updates, a model) is a few MiB. */
export const DISK_MIN_FREE_BYTES = 64 * 1024 * 1024;
/**
 * On a small disk the reserve is this fraction of its size instead (when smaller). The node takes part again once
 * twice the reserve is free, so 64 MiB on a 128 MiB disk (a small VM volume, session 16's soak disk) meant a node
 * that once counted it full could never recover while its data directory held anything: the default quota is half
 * the disk. An eighth leaves 16 MiB (about 40 MNIST models) on 128 MiB and recovery at 32 MiB free.
 */
export const DISK_SMALL_RESERVE_FRACTION = 1 / 8;

/** The free space under which a disk of `totalBytes` counts as full (64 MiB, less on a disk under 512 MiB). */
export function diskReserveBytes(totalBytes: number | undefined): number {
  return totalBytes === undefined
    ? DISK_MIN_FREE_BYTES
    : Math.min(DISK_MIN_FREE_BYTES, Math.floor(totalBytes * DISK_SMALL_RESERVE_FRACTION));
}

export interface DiskQuotaGuardOptions {
  readonly dataDir: string;
  readonly quotaBytes: number;
  readonly keepRounds?: number;
  readonly keepModels?: number;
  readonly keepAggregates?: number;
  /** Content hashes (0x-prefixed sha256) of models never deleted, read at each sweep. */
  readonly pinnedModels?: () => readonly string[];
  readonly intervalMs?: number;
  readonly log?: Logger;
  readonly metrics?: Registry;
  /** Default: `diskReserveBytes` of the file system's size. */
  readonly minFreeBytes?: number;
  readonly spaceIntervalMs?: number;
  /** Free bytes of the file system holding `dir` (default: statfs). */
  readonly freeBytes?: (dir: string) => Promise<number>;
  /** The disk under the data directory is full: stop writing (message names the path and the free bytes). */
  readonly onDiskFull?: (message: string) => void;
  readonly onDiskRecovered?: () => void;
}

async function statfsSpace(dir: string): Promise<{ free: number; total: number | undefined }> {
  const info = await statfs(dir);
  return { free: info.bavail * info.bsize, total: info.blocks * info.bsize };
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
  private spaceTimer: ReturnType<typeof setInterval> | undefined;
  private running = false;
  private full = false;
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
    void this.checkSpace();
    this.spaceTimer = setInterval(
      () => void this.checkSpace(),
      this.options.spaceIntervalMs ?? DISK_SPACE_CHECK_INTERVAL_MS,
    );
    this.spaceTimer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.spaceTimer);
  }

  /** True while the disk under the data directory counts as full. */
  get diskFull(): boolean {
    return this.full;
  }

  /** Reads the free space once and reports a change between full and not full. */
  async checkSpace(): Promise<number | undefined> {
    const { dataDir, log } = this.options;
    const read = this.options.freeBytes;
    const space = await (
      read === undefined ? statfsSpace(dataDir) : read(dataDir).then((free) => ({ free, total: undefined }))
    ).catch(() => undefined);
    if (space === undefined) return undefined;
    const { free } = space;
    const min = this.options.minFreeBytes ?? diskReserveBytes(space.total);
    if (!this.full && free < min) {
      this.full = true;
      const held = await this.holdings();
      const message = `disk full: ${free} bytes free under ${dataDir} (needs ${min}); this node takes no new work (no training, aggregator opt-in withdrawn) until space is freed; a duty it already holds ends from memory (nothing was deleted for it). ${held.text}`;
      log?.error(
        {
          dataDir,
          freeBytes: free,
          minFreeBytes: min,
          dataDirBytes: held.bytes,
          quotaBytes: this.options.quotaBytes,
        },
        message,
      );
      this.options.onDiskFull?.(message);
    } else if (this.full && free >= 2 * min) {
      this.full = false;
      log?.info({ dataDir, freeBytes: free }, "disk space recovered: taking part again");
      this.options.onDiskRecovered?.();
    }
    return free;
  }

  /** What the data directory holds (total and largest entries) and what the operator can do, for a full disk. */
  private async holdings(): Promise<{ bytes: number; text: string }> {
    const { dataDir, quotaBytes } = this.options;
    const sizes: Array<[string, number]> = [];
    for (const name of await readdir(dataDir).catch((): string[] => [])) {
      const path = join(dataDir, name);
      const bytes = await directoryBytes(path);
      sizes.push([
        name,
        bytes > 0
          ? bytes
          : await stat(path).then(
              (s) => (s.isFile() ? s.size : 0),
              () => 0,
            ),
      ]);
    }
    const bytes = sizes.reduce((sum, [, b]) => sum + b, 0);
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    const largest = sizes
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([name, b]) => `${name} ${mib(b)}`)
      .join(", ");
    return {
      bytes,
      text:
        `The data directory holds ${mib(bytes)} of its ${mib(quotaBytes)} quota (largest: ${largest || "nothing"}); ` +
        `the rest of the disk's used space is other files. To take part again: free space on this disk, ` +
        `lower resources.maxDiskBytes (the node then deletes its oldest rounds, models and aggregates, each logged), ` +
        `or move the data directory to a larger disk`,
    };
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
          this.options.log?.info(
            { path: victim, bytes, usedBytes: used, quotaBytes },
            "disk quota: deleted old round state or model",
          );
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

  /** Files of `dir` ending in `suffix`, least recently written first, except `skip` and the newest `keep`. */
  private async oldestFiles(
    dir: string,
    suffix: string,
    keep: number,
    skip = new Set<string>(),
  ): Promise<string[]> {
    const files: { path: string; mtimeMs: number }[] = [];
    for (const name of await readdir(dir).catch((): string[] => [])) {
      if (!name.endsWith(suffix) || skip.has(name)) continue;
      const path = join(dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info !== undefined) files.push({ path, mtimeMs: info.mtimeMs });
    }
    files.sort((a, b) => a.mtimeMs - b.mtimeMs);
    return files.slice(0, Math.max(0, files.length - keep)).map((f) => f.path);
  }

  /**
   * What may be deleted, in order: old rounds (oldest first), then old models, then old aggregates (least
   * recently written first).
   */
  private async candidates(): Promise<string[]> {
    const roundsDir = join(this.options.dataDir, "rounds");
    const rounds = (await readdir(roundsDir).catch((): string[] => []))
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
    const oldRounds = rounds
      .slice(0, Math.max(0, rounds.length - (this.options.keepRounds ?? DISK_QUOTA_KEEP_ROUNDS)))
      .map((name) => join(roundsDir, name));
    const pinned = new Set(
      (this.options.pinnedModels?.() ?? []).map((ref) => `${ref.replace(/^0x/i, "").toLowerCase()}.f32`),
    );
    const oldModels = await this.oldestFiles(
      join(this.options.dataDir, "models"),
      ".f32",
      this.options.keepModels ?? DISK_QUOTA_KEEP_MODELS,
      pinned,
    );
    const oldAggregates = await this.oldestFiles(
      join(this.options.dataDir, "aggregates"),
      ".agg",
      this.options.keepAggregates ?? DISK_QUOTA_KEEP_AGGREGATES,
    );
    return [...oldRounds, ...oldModels, ...oldAggregates];
  }
}
