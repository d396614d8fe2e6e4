/**
 * The disk quota guard on real files: old rounds go first, then old models; the newest rounds and models, keys and
 * everything else in the data directory stay; a directory that cannot fit reports it instead of deleting state.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

import pino from "pino";
import { Registry } from "prom-client";

import { DISK_MIN_FREE_BYTES, DiskQuotaGuard, directoryBytes, diskReserveBytes } from "./disk-quota.ts";

const KiB = 1024;

async function fill(path: string, bytes: number): Promise<void> {
  await writeFile(path, new Uint8Array(bytes));
}

describe("disk quota guard", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function dataDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "vain-quota-"));
    dirs.push(dir);
    await fill(join(dir, "node.key"), 1 * KiB);
    await fill(join(dir, "reputation.json"), 1 * KiB);
    for (const round of [1, 2, 3, 10]) {
      await mkdir(join(dir, "rounds", String(round)), { recursive: true });
      await fill(join(dir, "rounds", String(round), "own-aa.update"), 20 * KiB);
    }
    await mkdir(join(dir, "models"));
    for (const [i, name] of ["a", "b", "c"].entries()) {
      const path = join(dir, "models", `${name}.f32`);
      await fill(path, 10 * KiB);
      const t = new Date(Date.now() - (10 - i) * 60_000);
      await utimes(path, t, t);
    }
    return dir;
  }

  it("evicts old rounds (numerically oldest) before old models, and keeps the newest and the keys", async () => {
    const dir = await dataDir();
    assert.equal(await directoryBytes(dir), 2 * KiB + 80 * KiB + 30 * KiB);
    const metrics = new Registry();
    const guard = new DiskQuotaGuard({ dataDir: dir, quotaBytes: 65 * KiB, metrics });
    const report = await guard.check();
    assert.equal(report.overQuota, false);
    assert.deepEqual((await readdir(join(dir, "rounds"))).sort(), ["10", "3"]);
    assert.equal((await readdir(join(dir, "models"))).length, 2, "the oldest model went too");
    assert.deepEqual(
      (await readdir(join(dir, "models"))).sort(),
      ["b.f32", "c.f32"],
      "the least recently written model went",
    );
    assert.ok(report.usedBytes <= 65 * KiB);
    assert.equal(report.usedBytes, await directoryBytes(dir));
    assert.deepEqual((await readdir(dir)).sort(), ["models", "node.key", "reputation.json", "rounds"]);
    assert.match(await metrics.metrics(), /vain_data_dir_over_quota 0/);
  });

  it("evicts old round aggregates (the task's history) last, oldest first, keeping the newest", async () => {
    const dir = await dataDir();
    await mkdir(join(dir, "aggregates"));
    for (const [i, name] of ["x", "y", "z"].entries()) {
      const path = join(dir, "aggregates", `${name}.agg`);
      await fill(path, 5 * KiB);
      const t = new Date(Date.now() - (10 - i) * 60_000);
      await utimes(path, t, t);
    }
    // Rounds and models down to what is kept (2 rounds, 2 models: 62 KiB with the keys) leave 15 KiB of history:
    // a 72 KiB quota takes the oldest aggregate only.
    const report = await new DiskQuotaGuard({
      dataDir: dir,
      quotaBytes: 72 * KiB,
      keepAggregates: 1,
    }).check();
    assert.equal(report.overQuota, false);
    assert.deepEqual((await readdir(join(dir, "aggregates"))).sort(), ["y.agg", "z.agg"]);
    assert.deepEqual((await readdir(join(dir, "rounds"))).sort(), ["10", "3"], "rounds went first");
  });

  it("never deletes a pinned model (the task's initial model, maybe the only copy of imported weights)", async () => {
    const dir = await dataDir();
    const guard = new DiskQuotaGuard({ dataDir: dir, quotaBytes: 65 * KiB, pinnedModels: () => ["0xA"] });
    await guard.check();
    assert.deepEqual(
      (await readdir(join(dir, "models"))).sort(),
      ["a.f32", "b.f32", "c.f32"],
      "the oldest model is pinned (its 0x-prefixed, upper-case ref names it); the others are the newest two",
    );
    const over = await new DiskQuotaGuard({
      dataDir: dir,
      quotaBytes: 10 * KiB,
      pinnedModels: () => ["0xa"],
    }).check();
    assert.equal(over.overQuota, true, "a quota only met by deleting the pinned model is reported, not met");
    assert.ok((await readdir(join(dir, "models"))).includes("a.f32"));
  });

  it("reports a quota it cannot meet without deleting state the node must keep", async () => {
    const dir = await dataDir();
    const guard = new DiskQuotaGuard({ dataDir: dir, quotaBytes: 10 * KiB });
    const report = await guard.check();
    assert.equal(report.overQuota, true);
    assert.deepEqual((await readdir(join(dir, "rounds"))).sort(), ["10", "3"]);
    assert.equal((await readdir(join(dir, "models"))).length, 2);
    assert.equal(report.usedBytes, 2 * KiB + 40 * KiB + 20 * KiB);
  });

  it("does nothing under the quota", async () => {
    const dir = await dataDir();
    const report = await new DiskQuotaGuard({ dataDir: dir, quotaBytes: 1024 * KiB }).check();
    assert.deepEqual(report.removed, []);
    assert.equal((await readdir(join(dir, "rounds"))).length, 4);
  });

  it("logs every deletion with its path and size", async () => {
    const dir = await dataDir();
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: "info" },
      { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const report = await new DiskQuotaGuard({ dataDir: dir, quotaBytes: 65 * KiB, log }).check();
    const deletions = lines.filter((l) => l["msg"] === "disk quota: deleted old round state or model");
    assert.equal(deletions.length, report.removed.length);
    assert.deepEqual(
      deletions.map((l) => l["path"]),
      report.removed,
    );
    assert.ok(deletions.every((l) => typeof l["bytes"] === "number" && (l["bytes"] as number) > 0));
  });

  it("a small disk's reserve is an eighth of it, so it can recover with a quota's worth of state on it", () => {
    const MiB = 1024 * KiB;
    assert.equal(diskReserveBytes(undefined), DISK_MIN_FREE_BYTES);
    assert.equal(diskReserveBytes(100 * 1024 * MiB), DISK_MIN_FREE_BYTES);
    assert.equal(diskReserveBytes(128 * MiB), 16 * MiB);
    // The default quota is half the disk: full at the reserve, back at twice it, with the quota still held.
    const disk = 128 * MiB;
    assert.ok(
      disk - disk / 2 >= 2 * diskReserveBytes(disk),
      "a node at its quota on a 128 MiB disk can recover",
    );
    assert.ok(disk - disk / 2 < 2 * DISK_MIN_FREE_BYTES, "with 64 MiB of reserve it could not");
  });

  it("on a really full file system: reports the path, deletes nothing, and recovers when space is freed", async (t) => {
    // A 4 MiB tmpfs is a disk that really fills (writes fail with ENOSPC); mounting needs privileges.
    const mountPoint = await mkdtemp(join(tmpdir(), "vain-full-"));
    dirs.push(mountPoint);
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint]).status === 0;
    if (!mounted) {
      t.skip("cannot mount a tmpfs here (needs root)");
      return;
    }
    try {
      const dir = join(mountPoint, "data");
      await mkdir(join(dir, "rounds", "1"), { recursive: true });
      await fill(join(dir, "node.key"), 1 * KiB);
      await fill(join(dir, "rounds", "1", "own.update"), 64 * KiB);
      const events: string[] = [];
      const guard = new DiskQuotaGuard({
        dataDir: dir,
        quotaBytes: 1024 * 1024 * KiB,
        minFreeBytes: 1024 * KiB,
        onDiskFull: (message) => events.push(message),
        onDiskRecovered: () => events.push("recovered"),
      });
      assert.ok(((await guard.checkSpace()) ?? 0) > 1024 * KiB);
      assert.equal(guard.diskFull, false);
      // Fill the disk until a write fails, as the node's writes would.
      const ballast = join(mountPoint, "ballast");
      const error = await writeFile(ballast, new Uint8Array(8 * 1024 * KiB)).catch((e: unknown) => e);
      assert.equal((error as NodeJS.ErrnoException).code, "ENOSPC");
      await guard.checkSpace();
      assert.equal(guard.diskFull, true);
      assert.equal(events.length, 1);
      assert.match(events[0]!, new RegExp(`^disk full: \\d+ bytes free under ${dir} \\(needs 1048576\\)`));
      // What holds the space, and what to do: the data directory's 65 KiB (rounds the largest), not the ballast.
      assert.match(
        events[0]!,
        /The data directory holds 0\.1 MiB of its 1024\.0 MiB quota \(largest: rounds 0\.1 MiB, /,
      );
      assert.match(events[0]!, /free space on this disk, lower resources\.maxDiskBytes/);
      await guard.checkSpace();
      assert.equal(events.length, 1, "reported once, not at every check");
      assert.ok(existsSync(join(dir, "rounds", "1", "own.update")), "nothing deleted for a full disk");
      await rm(ballast);
      await guard.checkSpace();
      assert.deepEqual(events.slice(1), ["recovered"]);
      assert.equal(guard.diskFull, false);
    } finally {
      spawnSync("umount", [mountPoint]);
    }
  });
});
