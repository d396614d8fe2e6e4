/** The round history file on disk: what a node recorded is there after a restart, and a damaged file is no crash. */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

import type { RoundMetrics } from "../api/status.ts";
import { HISTORY_FILE, HistoryFile } from "./history-file.ts";

const row = (roundId: string, accuracy: number): RoundMetrics => ({
  roundId,
  accuracy,
  loss: 0.3,
  bytesSent: 10,
  bytesReceived: 20,
  reward: "1000",
  slashes: 0,
  proven: true,
  finishedAt: 1,
});

describe("round history file", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("keeps recorded rounds (last write of a round wins) across a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vain-history-"));
    dirs.push(dir);
    const before = new HistoryFile(dir);
    assert.deepEqual(await before.load(), []);
    await before.record(row("1", 0.8));
    await Promise.all([before.record(row("2", 0.85)), before.record(row("2", 0.9))]);
    const restarted = new HistoryFile(dir);
    const rows = await restarted.load();
    assert.deepEqual(
      rows.map((r) => [r.roundId, r.accuracy]),
      [
        ["1", 0.8],
        ["2", 0.9],
      ],
    );
    assert.ok(restarted.has("2") && !restarted.has("3"));
  });

  it("starts empty from a damaged file instead of failing the node", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vain-history-"));
    dirs.push(dir);
    await writeFile(join(dir, HISTORY_FILE), "{ not json");
    assert.deepEqual(await new HistoryFile(dir).load(), []);
  });
});
