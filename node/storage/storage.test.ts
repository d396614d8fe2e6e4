import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { z } from "zod";

import { writeFileAtomic } from "./atomic.ts";
import { CheckpointStore, decodeCheckpoint, encodeCheckpoint } from "./checkpoint-store.ts";
import { ContentStore, contentHash } from "./content-store.ts";
import { StorageCorruptError, StorageError, StorageNotFoundError, StorageQuotaError } from "./errors.ts";
import { JsonStateFile } from "./json-state.ts";

let root: string;
let counter = 0;
const fresh = () => join(root, `case-${counter++}`);
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vain-storage-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("writeFileAtomic", () => {
  it("replaces a file and leaves no temp file behind", async () => {
    const dir = fresh();
    await mkdir(dir);
    const path = join(dir, "a.json");
    await writeFileAtomic(path, "one");
    await writeFileAtomic(path, "two", { mode: 0o600 });
    assert.equal(await readFile(path, "utf8"), "two");
    assert.deepEqual(await readdir(dir), ["a.json"]);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  it("fails cleanly when the directory does not exist", async () => {
    await assert.rejects(writeFileAtomic(join(fresh(), "missing", "x"), "x"), /ENOENT/);
  });
});

describe("ContentStore", () => {
  it("stores by sha256, reads back verified, and deduplicates", async () => {
    const store = await ContentStore.open(fresh(), { quotaBytes: 1 << 20, noSync: true });
    const data = new TextEncoder().encode("global model v1");
    const hash = await store.put(data);
    assert.equal(hash, contentHash(data));
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(await store.get(hash), data);
    assert.equal(await store.put(data), hash);
    assert.equal(store.stats().entries, 1);
    assert.equal(store.stats().usedBytes, data.length);
  });

  it("detects corruption on read with StorageCorruptError and removes the bad file", async () => {
    const dir = fresh();
    const store = await ContentStore.open(dir, { quotaBytes: 1 << 20, noSync: true });
    const hash = await store.put(bytes(1000, 7));
    const path = join(dir, "objects", hash.slice(0, 2), hash);
    const raw = await readFile(path);
    raw[500] = 8;
    await writeFile(path, raw);
    await assert.rejects(store.get(hash), (e: unknown) => {
      assert.ok(e instanceof StorageCorruptError);
      assert.equal(e.code, "STORAGE_CORRUPT");
      assert.equal(e.hash, hash);
      return true;
    });
    assert.equal(store.has(hash), false);
    await assert.rejects(store.get(hash), StorageNotFoundError);
    // the mesh re-fetches it: a verified put restores it
    assert.equal(await store.putExpected(hash, bytes(1000, 7)), hash);
    assert.deepEqual(await store.get(hash), bytes(1000, 7));
  });

  it("refuses received bytes that do not match the announced hash", async () => {
    const store = await ContentStore.open(fresh(), { quotaBytes: 1 << 20, noSync: true });
    const announced = contentHash(bytes(10, 1));
    await assert.rejects(store.putExpected(announced, bytes(10, 2)), StorageCorruptError);
    assert.equal(store.stats().entries, 0);
    await assert.rejects(store.get("not-a-hash"), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.code, "STORAGE_INVALID_ARGUMENT");
      return true;
    });
  });

  it("evicts least-recently-used re-fetchable objects, never pinned or local-only ones", async () => {
    const evicted: string[] = [];
    const store = await ContentStore.open(fresh(), {
      quotaBytes: 3000,
      noSync: true,
      onEvict: (e) => evicted.push(e.hash),
    });
    const a = await store.put(bytes(1000, 1), { refetchable: true });
    const b = await store.put(bytes(1000, 2), { refetchable: true });
    const pinned = await store.put(bytes(500, 3), { refetchable: true, pinned: true });
    await store.get(a); // a is now more recent than b
    const c = await store.put(bytes(1000, 4), { refetchable: true });
    assert.deepEqual(evicted, [b]);
    assert.ok(store.has(a) && store.has(c) && store.has(pinned));
    assert.ok(store.stats().usedBytes <= 3000);
    // a local-only object (not refetchable) cannot be evicted, and does not fit after evicting the rest
    await store.put(bytes(400, 5));
    await assert.rejects(store.put(bytes(2600, 6)), (e: unknown) => {
      assert.ok(e instanceof StorageQuotaError);
      assert.equal(e.code, "STORAGE_QUOTA_EXCEEDED");
      return true;
    });
    assert.ok(store.has(pinned));
    assert.equal(store.stats().evictions, 1);
  });

  it("persists flags and LRU order across a restart and sweeps crash leftovers", async () => {
    const dir = fresh();
    const store = await ContentStore.open(dir, { quotaBytes: 2000, noSync: true });
    const a = await store.put(bytes(1000, 1), { refetchable: true });
    const b = await store.put(bytes(1000, 2), { refetchable: true });
    await store.get(a);
    await store.pin(b);
    await store.flush();
    await writeFile(join(dir, "objects", a.slice(0, 2), `.${a}.deadbeef.tmp`), "half written");
    const reopened = await ContentStore.open(dir, { quotaBytes: 2000, noSync: true });
    assert.equal(reopened.entry(b)?.pinned, true);
    assert.deepEqual(await readdir(join(dir, "objects", a.slice(0, 2))), [a]);
    await reopened.put(bytes(1000, 3), { refetchable: true }); // must evict a (b is pinned)
    assert.equal(reopened.has(a), false);
    assert.equal(reopened.has(b), true);
  });

  it("adopts unindexed files as non-evictable and still verifies them", async () => {
    const dir = fresh();
    const store = await ContentStore.open(dir, { quotaBytes: 10_000, noSync: true });
    const a = await store.put(bytes(100, 1), { refetchable: true });
    await rm(join(dir, "index.json"));
    const reopened = await ContentStore.open(dir, { quotaBytes: 10_000, noSync: true });
    assert.equal(reopened.entry(a)?.refetchable, false);
    assert.deepEqual(await reopened.get(a), bytes(100, 1));
  });

  it("rejects a non-positive quota", async () => {
    await assert.rejects(ContentStore.open(fresh(), { quotaBytes: 0 }), StorageError);
  });
});

describe("CheckpointStore", () => {
  const meta = (roundId: string) => ({
    roundId,
    taskId: "1",
    createdAtMs: 1_700_000_000_000,
    info: { epoch: 3 },
  });

  it("round-trips parameters and metadata bit for bit", () => {
    const params = Float32Array.from([0, -1.5, 3.25e-8, 1e30, -0]);
    const decoded = decodeCheckpoint(encodeCheckpoint(meta("7"), params));
    assert.deepEqual(decoded.meta, meta("7"));
    assert.deepEqual(decoded.params, params);
  });

  it("returns the newest checkpoint and keeps only the last `keep`", async () => {
    const store = new CheckpointStore(fresh(), { keep: 2, noSync: true });
    assert.equal((await store.loadLatest()).checkpoint, undefined);
    for (let r = 1; r <= 4; r++) await store.save(meta(String(r)), Float32Array.from([r, r + 0.5]));
    assert.deepEqual(await store.list(), [4, 3]);
    const { checkpoint, skipped } = await store.loadLatest();
    assert.equal(checkpoint?.seq, 4);
    assert.equal(checkpoint?.meta.roundId, "4");
    assert.deepEqual(checkpoint?.params, Float32Array.from([4, 4.5]));
    assert.deepEqual(skipped, []);
  });

  it("falls back to the previous good checkpoint when the newest is truncated (crash mid-write)", async () => {
    const store = new CheckpointStore(fresh(), { noSync: true });
    await store.save(meta("1"), new Float32Array(1000).fill(1));
    const second = await store.save(meta("2"), new Float32Array(1000).fill(2));
    await truncate(store.fileOf(second), 2000);
    const { checkpoint, skipped } = await store.loadLatest();
    assert.equal(checkpoint?.meta.roundId, "1");
    assert.equal(checkpoint?.params[999], 1);
    assert.equal(skipped.length, 1);
    assert.match(skipped[0]!.reason, /corrupt/);
  });

  it("falls back when the newest has a flipped bit, and to nothing when all are bad", async () => {
    const store = new CheckpointStore(fresh(), { noSync: true });
    const first = await store.save(meta("1"), Float32Array.from([1, 2, 3]));
    const second = await store.save(meta("2"), Float32Array.from([4, 5, 6]));
    const raw = await readFile(store.fileOf(second));
    raw[raw.length - 40] = raw[raw.length - 40]! ^ 0x01;
    await writeFile(store.fileOf(second), raw);
    assert.equal((await store.loadLatest()).checkpoint?.meta.roundId, "1");
    await writeFile(store.fileOf(first), "garbage");
    const none = await store.loadLatest();
    assert.equal(none.checkpoint, undefined);
    assert.equal(none.skipped.length, 2);
  });

  it("rejects keep < 2 and invalid metadata", async () => {
    assert.throws(() => new CheckpointStore(fresh(), { keep: 1 }), StorageError);
    const store = new CheckpointStore(fresh(), { noSync: true });
    await assert.rejects(store.save({ roundId: "", createdAtMs: 0 }, new Float32Array(1)));
  });
});

describe("JsonStateFile", () => {
  const schema = z.object({ round: z.number().int(), phase: z.enum(["training", "committed"]) });

  it("reads undefined before the first write and round-trips validated state", async () => {
    const dir = fresh();
    await mkdir(dir);
    const file = new JsonStateFile(join(dir, "round.json"), schema, { noSync: true });
    assert.equal(await file.read(), undefined);
    await file.write({ round: 3, phase: "training" });
    await file.update((s) => ({ round: s?.round ?? 0, phase: "committed" }));
    assert.deepEqual(await file.read(), { round: 3, phase: "committed" });
    assert.equal((await stat(file.path)).mode & 0o777, 0o600);
  });

  it("serialises concurrent updates", async () => {
    const dir = fresh();
    await mkdir(dir);
    const file = new JsonStateFile(join(dir, "counter.json"), schema, { noSync: true });
    await file.write({ round: 0, phase: "training" });
    await Promise.all(
      Array.from({ length: 20 }, () =>
        file.update((s) => ({ round: (s?.round ?? 0) + 1, phase: "training" })),
      ),
    );
    assert.equal((await file.read())?.round, 20);
  });

  it("raises STATE_INVALID on corrupt or schema-violating files and refuses invalid writes", async () => {
    const dir = fresh();
    await mkdir(dir);
    const path = join(dir, "s.json");
    const file = new JsonStateFile(path, schema, { noSync: true });
    await writeFile(path, "{ not json");
    await assert.rejects(
      file.read(),
      (e: unknown) => e instanceof StorageError && e.code === "STATE_INVALID",
    );
    await writeFile(path, JSON.stringify({ round: "x", phase: "training" }));
    await assert.rejects(file.read(), /round/);
    await assert.rejects(file.write({ round: 1.5, phase: "training" }), StorageError);
  });
});
