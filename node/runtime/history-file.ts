/**
 * The status history (one row per finished round: accuracy, loss, bytes, reward) kept in the data directory,
 * so a restarted node's dashboard shows the rounds it already saw with their real figures instead of
 * re-evaluating models it no longer holds (which gave accuracy 0). Written atomically (temp file + rename).
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

import type { RoundMetrics } from "../api/status.ts";
import { STATUS_HISTORY_LIMIT } from "../api/memory-source.ts";

/** File name inside the data directory. */
export const HISTORY_FILE = "history.json";

export class HistoryFile {
  private readonly path: string;
  private rows: RoundMetrics[] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(dataDir: string) {
    this.path = join(dataDir, HISTORY_FILE);
  }

  /** Reads the saved rows (none when the file is missing or unreadable: history is a convenience, not state). */
  async load(): Promise<readonly RoundMetrics[]> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.path, "utf8"));
      this.rows = Array.isArray(parsed)
        ? (parsed as RoundMetrics[]).filter((r) => typeof r?.roundId === "string")
        : [];
    } catch {
      this.rows = [];
    }
    return this.rows;
  }

  has(roundId: string): boolean {
    return this.rows.some((r) => r.roundId === roundId);
  }

  /** Adds or replaces a row and writes the file (writes are serialised; the last one wins). */
  record(row: RoundMetrics): Promise<void> {
    this.rows = [...this.rows.filter((r) => r.roundId !== row.roundId), row].slice(-STATUS_HISTORY_LIMIT);
    const text = `${JSON.stringify(this.rows)}\n`;
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        const temp = `${this.path}.tmp`;
        await writeFile(temp, text);
        await rename(temp, this.path);
      });
    return this.writing;
  }
}
