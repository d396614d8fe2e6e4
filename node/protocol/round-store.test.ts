/**
 * The round store on a disk that is really full: a 4 MiB tmpfs filled to its last block (the soak fills disks the
 * same way). Writes the node can do without (a received update, a model) are reported and the round goes on from
 * memory; the node's own update, written before its commit, still throws, so nothing is committed that is not on
 * disk. Skipped where this process may not mount a tmpfs (not root). Also: the aggregate history, by content hash.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";

import { RoundStore } from "./round-store.ts";

const run = promisify(execFile);
const TRAINER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";

async function mounted(path: string): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  return run("mount", ["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", path]).then(
    () => true,
    () => false,
  );
}

describe("RoundStore on a full disk", () => {
  let dir: string;
  let mount: string;
  let canMount = false;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "vain-round-store-"));
    mount = join(dir, "disk");
    await mkdir(mount);
    canMount = await mounted(mount);
    if (!canMount) return;
    await mkdir(join(mount, "node"));
    const info = await statfs(mount);
    await run("fallocate", ["-l", String(info.bavail * info.bsize), join(mount, "filler")]);
  });

  after(async () => {
    if (canMount) await run("umount", ["-l", mount]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it("reports optional writes and goes on; the own update still throws", async (t) => {
    if (!canMount) {
      t.skip("cannot mount a tmpfs here (not root)");
      return;
    }
    const failures: { path: string; code: string | undefined }[] = [];
    const store = new RoundStore(join(mount, "node"), {
      onWriteError: (path, error) => failures.push({ path, code: (error as NodeJS.ErrnoException).code }),
    });
    const update = new Uint8Array(64 * 1024).fill(7);
    await store.saveReceived(3n, TRAINER, update);
    const params = new Float32Array(32 * 1024).fill(0.5);
    const ref = await store.saveModel(params);
    assert.match(ref, /^0x[0-9a-f]{64}$/);
    assert.equal(failures.length, 2, JSON.stringify(failures));
    assert.ok(failures.every((f) => f.code === "ENOSPC"));
    assert.match(
      failures[0]!.path,
      /rounds\/3\/from-0x70997970c51812dc3a010c7d01b50e0d17dc79c8-[0-9a-f]{64}\.update$/,
    );
    assert.match(failures[1]!.path, /models\/[0-9a-f]{64}\.f32$/);
    // Nothing half-written is left to be read back as state.
    assert.deepEqual(await store.loadReceived(3n), []);
    assert.equal(await store.loadModel(ref, params.length), undefined);

    await assert.rejects(store.saveOwnUpdate(3n, update), { code: "ENOSPC" });
    // Without a handler every write throws, as before.
    await assert.rejects(new RoundStore(join(mount, "node")).saveReceived(3n, TRAINER, update), {
      code: "ENOSPC",
    });
  });
});

describe("RoundStore's aggregate history", () => {
  it("keeps an aggregate by its content hash and drops a torn file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vain-round-store-"));
    try {
      const store = new RoundStore(dir);
      const bytes = new Uint8Array(300).map((_, i) => i % 251);
      const sha = await store.saveAggregate(bytes);
      assert.deepEqual(await store.loadAggregate(sha), bytes);
      assert.equal(await store.loadAggregate("ab".repeat(32)), undefined, "an unknown name");
      assert.equal(await store.loadAggregate("../models"), undefined, "not a content hash");
      await writeFile(join(dir, "aggregates", `${sha}.agg`), bytes.subarray(0, 100));
      assert.equal(await store.loadAggregate(sha), undefined, "a torn file is not served");
      assert.deepEqual(await readdir(join(dir, "aggregates")), [], "and is removed");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("keeps a leader's pending partials across a restart and reads a torn list as none", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vain-round-store-"));
    try {
      assert.deepEqual(await new RoundStore(dir).loadPendingPartials(), [], "nothing saved yet");
      await new RoundStore(dir).savePendingPartials([5n, 12n]);
      assert.deepEqual(await new RoundStore(dir).loadPendingPartials(), [5n, 12n]);
      await new RoundStore(dir).prune(1_000n);
      assert.deepEqual(await new RoundStore(dir).loadPendingPartials(), [5n, 12n], "prune keeps it");
      for (const torn of ['["5", "1', '["5", -1]', '{"5": 1}', '["0x5"]'])
        await writeFile(join(dir, "rounds", "pending-partials.json"), torn).then(async () =>
          assert.deepEqual(await new RoundStore(dir).loadPendingPartials(), [], torn),
        );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
