/**
 * The disk quota guard on real files: old rounds go first, then old models; the newest rounds and models, keys and
 * everything else in the data directory stay; a directory that cannot fit reports it instead of deleting state.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

import { Registry } from "prom-client";

import { DiskQuotaGuard, directoryBytes } from "./disk-quota.ts";

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
});
