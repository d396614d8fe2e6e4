/**
 * Content-addressed local storage for datasets, model checkpoints and received updates.
 *
 * Objects live at `<dir>/objects/<first two hex>/<sha256 hex>` and are verified against their address on every
 * read, so a flipped bit on disk surfaces as a typed `StorageCorruptError` instead of a poisoned model.
 * A disk quota is enforced by evicting least-recently-used objects that are marked re-fetchable (a global model
 * or dataset shard the mesh can serve again); pinned objects (the node's own update it must keep to answer
 * challenges, the current checkpoint) and objects that cannot be re-fetched are never evicted.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";

import { z } from "zod";

import { isTempFile, writeFileAtomic } from "./atomic.ts";
import { StorageCorruptError, StorageError, StorageNotFoundError, StorageQuotaError } from "./errors.ts";
import { JsonStateFile } from "./json-state.ts";

const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** Metadata kept per object. */
export interface ContentEntry {
  readonly hash: string;
  readonly size: number;
  /** Never evicted while pinned. */
  readonly pinned: boolean;
  /** May be evicted under quota pressure (it can be fetched again from the mesh). */
  readonly refetchable: boolean;
  /** Logical access clock: larger = used more recently (LRU order survives restarts). */
  readonly lastAccess: number;
}

export interface PutOptions {
  readonly pinned?: boolean;
  readonly refetchable?: boolean;
}

export interface ContentStoreOptions {
  /** Upper bound on the bytes of stored objects; `Infinity` for none. */
  readonly quotaBytes: number;
  /** Skip fsync (tests only). */
  readonly noSync?: boolean;
  /** Called after an object is evicted to make room (for logs and metrics). */
  readonly onEvict?: (entry: ContentEntry) => void;
}

export interface ContentStoreStats {
  readonly entries: number;
  readonly usedBytes: number;
  readonly quotaBytes: number;
  readonly pinnedBytes: number;
  readonly evictableBytes: number;
  readonly evictions: number;
}

const indexSchema = z.object({
  version: z.literal(1),
  clock: z.number().int().nonnegative(),
  entries: z.array(
    z.object({
      hash: z.string().regex(HASH_PATTERN),
      size: z.number().int().nonnegative(),
      pinned: z.boolean(),
      refetchable: z.boolean(),
      lastAccess: z.number().int().nonnegative(),
    }),
  ),
});

/** SHA-256 of `data` as lowercase hex: the address of an object. */
export function contentHash(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function checkHash(hash: string): void {
  if (!HASH_PATTERN.test(hash)) {
    throw new StorageError("STORAGE_INVALID_ARGUMENT", `not a sha256 hex address: ${JSON.stringify(hash)}`);
  }
}

/** A content-addressed object store with quota and LRU eviction of re-fetchable objects. */
export class ContentStore {
  readonly dir: string;
  private readonly options: ContentStoreOptions;
  private readonly index: JsonStateFile<typeof indexSchema>;
  private readonly entries = new Map<string, ContentEntry>();
  private clock = 0;
  private evictions = 0;
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, options: ContentStoreOptions) {
    this.dir = dir;
    this.options = options;
    this.index = new JsonStateFile(join(dir, "index.json"), indexSchema, { noSync: options.noSync });
  }

  /**
   * Opens (creating if needed) a store in `dir`, reconciling the index with the files on disk: temp files from a
   * crash are removed, files missing from the index are adopted as non-evictable (we do not know whether they
   * can be fetched again), and index entries without a file are dropped.
   */
  static async open(dir: string, options: ContentStoreOptions): Promise<ContentStore> {
    if (!(options.quotaBytes > 0)) {
      throw new StorageError("STORAGE_INVALID_ARGUMENT", `quotaBytes must be > 0, got ${options.quotaBytes}`);
    }
    const store = new ContentStore(dir, options);
    await mkdir(join(dir, "objects"), { recursive: true });
    let saved: z.output<typeof indexSchema> | undefined;
    try {
      saved = await store.index.read();
    } catch {
      saved = undefined; // a corrupt index is rebuilt from the files; objects verify themselves on read
    }
    const known = new Map(saved?.entries.map((e) => [e.hash, e]));
    store.clock = saved?.clock ?? 0;
    for (const shard of await readdir(join(dir, "objects"))) {
      const shardDir = join(dir, "objects", shard);
      for (const name of await readdir(shardDir)) {
        const path = join(shardDir, name);
        if (isTempFile(name) || !HASH_PATTERN.test(name) || !name.startsWith(shard)) {
          await rm(path, { force: true });
          continue;
        }
        const size = (await stat(path)).size;
        const entry = known.get(name);
        store.entries.set(
          name,
          entry !== undefined && entry.size === size
            ? entry
            : { hash: name, size, pinned: false, refetchable: false, lastAccess: 0 },
        );
      }
    }
    await store.persist();
    return store;
  }

  /** Runs mutations one at a time so quota accounting never races. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  private pathOf(hash: string): string {
    return join(this.dir, "objects", hash.slice(0, 2), hash);
  }

  private persist(): Promise<void> {
    return this.index.write({ version: 1, clock: this.clock, entries: [...this.entries.values()] });
  }

  private usedBytes(): number {
    let used = 0;
    for (const e of this.entries.values()) used += e.size;
    return used;
  }

  /** Evicts LRU re-fetchable, unpinned objects until `needed` more bytes fit; throws if they cannot. */
  private async makeRoom(needed: number, keep: string): Promise<void> {
    const quota = this.options.quotaBytes;
    let used = this.usedBytes();
    if (used + needed <= quota) return;
    const candidates = [...this.entries.values()]
      .filter((e) => e.refetchable && !e.pinned && e.hash !== keep)
      .sort((a, b) => a.lastAccess - b.lastAccess);
    const evictable = candidates.reduce((s, e) => s + e.size, 0);
    if (used - evictable + needed > quota) {
      throw new StorageQuotaError(
        needed,
        quota,
        `object of ${needed} B does not fit: ${used} B used of ${quota} B quota, only ${evictable} B evictable`,
      );
    }
    for (const entry of candidates) {
      if (used + needed <= quota) break;
      await rm(this.pathOf(entry.hash), { force: true });
      this.entries.delete(entry.hash);
      used -= entry.size;
      this.evictions++;
      this.options.onEvict?.(entry);
    }
  }

  /** Stores `data` and returns its sha256 address. Storing an existing object only updates its flags. */
  put(data: Uint8Array, options: PutOptions = {}): Promise<string> {
    return this.putVerified(contentHash(data), data, options);
  }

  /**
   * Stores bytes received for a known address (e.g. the model hash announced on chain), refusing bytes that do
   * not hash to it with `StorageCorruptError`.
   */
  putExpected(expectedHash: string, data: Uint8Array, options: PutOptions = {}): Promise<string> {
    checkHash(expectedHash);
    const actual = contentHash(data);
    if (actual !== expectedHash) {
      return Promise.reject(
        new StorageCorruptError(expectedHash, `received bytes hash to ${actual}, expected ${expectedHash}`),
      );
    }
    return this.putVerified(actual, data, options);
  }

  private putVerified(hash: string, data: Uint8Array, options: PutOptions): Promise<string> {
    return this.exclusive(async () => {
      const existing = this.entries.get(hash);
      const pinned = options.pinned ?? false;
      const refetchable = options.refetchable ?? false;
      if (existing !== undefined) {
        this.entries.set(hash, {
          ...existing,
          pinned: existing.pinned || pinned,
          refetchable: existing.refetchable && refetchable,
          lastAccess: ++this.clock,
        });
        await this.persist();
        return hash;
      }
      await this.makeRoom(data.length, hash);
      await mkdir(join(this.dir, "objects", hash.slice(0, 2)), { recursive: true });
      await writeFileAtomic(this.pathOf(hash), data, { noSync: this.options.noSync });
      this.entries.set(hash, { hash, size: data.length, pinned, refetchable, lastAccess: ++this.clock });
      await this.persist();
      return hash;
    });
  }

  /**
   * Reads and verifies an object. A missing object is `StorageNotFoundError`; bytes that no longer hash to the
   * address are deleted (so a re-fetch can replace them) and reported as `StorageCorruptError`.
   */
  async get(hash: string): Promise<Uint8Array> {
    checkHash(hash);
    const entry = this.entries.get(hash);
    if (entry === undefined) throw new StorageNotFoundError(`object ${hash} is not stored`);
    let data: Uint8Array;
    try {
      data = new Uint8Array(await readFile(this.pathOf(hash)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      await this.exclusive(async () => {
        this.entries.delete(hash);
        await this.persist();
      });
      throw new StorageNotFoundError(`object ${hash} is indexed but its file is gone`);
    }
    const actual = contentHash(data);
    if (actual !== hash) {
      await this.exclusive(async () => {
        await rm(this.pathOf(hash), { force: true });
        this.entries.delete(hash);
        await this.persist();
      });
      throw new StorageCorruptError(hash, `object ${hash} is corrupt on disk (hashes to ${actual}); removed`);
    }
    this.entries.set(hash, { ...entry, lastAccess: ++this.clock });
    return data;
  }

  has(hash: string): boolean {
    return this.entries.has(hash);
  }

  entry(hash: string): ContentEntry | undefined {
    return this.entries.get(hash);
  }

  /** Changes an object's flags (pin before relying on it, unpin when done). */
  setFlags(hash: string, flags: PutOptions): Promise<void> {
    checkHash(hash);
    return this.exclusive(async () => {
      const entry = this.entries.get(hash);
      if (entry === undefined) throw new StorageNotFoundError(`object ${hash} is not stored`);
      this.entries.set(hash, {
        ...entry,
        pinned: flags.pinned ?? entry.pinned,
        refetchable: flags.refetchable ?? entry.refetchable,
      });
      await this.persist();
    });
  }

  pin(hash: string): Promise<void> {
    return this.setFlags(hash, { pinned: true });
  }

  unpin(hash: string): Promise<void> {
    return this.setFlags(hash, { pinned: false });
  }

  /** Deletes an object (pinned or not); returns whether it existed. */
  delete(hash: string): Promise<boolean> {
    checkHash(hash);
    return this.exclusive(async () => {
      if (!this.entries.delete(hash)) return false;
      await rm(this.pathOf(hash), { force: true });
      await this.persist();
      return true;
    });
  }

  list(): ContentEntry[] {
    return [...this.entries.values()];
  }

  stats(): ContentStoreStats {
    let pinnedBytes = 0;
    let evictableBytes = 0;
    for (const e of this.entries.values()) {
      if (e.pinned) pinnedBytes += e.size;
      else if (e.refetchable) evictableBytes += e.size;
    }
    return {
      entries: this.entries.size,
      usedBytes: this.usedBytes(),
      quotaBytes: this.options.quotaBytes,
      pinnedBytes,
      evictableBytes,
      evictions: this.evictions,
    };
  }

  /** Persists the LRU clock (reads update it in memory only, to keep reads cheap). */
  flush(): Promise<void> {
    return this.exclusive(() => this.persist());
  }
}
