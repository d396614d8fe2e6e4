/**
 * Model checkpoints that survive crashes: each save is a new self-checking file written atomically, the last
 * `keep` are retained, and `loadLatest` returns the newest one whose checksum verifies, skipping (and reporting)
 * any that a crash, a full disk or bit rot damaged. A restarted node resumes from what it returns.
 *
 * File format (`checkpoint-<seq>.vckp`, little-endian):
 * `"VCKP" | version u8 = 1 | metaLength u32 | meta JSON (UTF-8) | paramCount u32 | params f32 × paramCount |
 *  sha256 of everything before (32 bytes)`.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";

import { z } from "zod";

import { isTempFile, writeFileAtomic } from "./atomic.ts";
import { StorageCorruptError, StorageError } from "./errors.ts";

const MAGIC = [0x56, 0x43, 0x4b, 0x50]; // "VCKP"
const VERSION = 1;
const HEADER_BYTES = 4 + 1 + 4;
const DIGEST_BYTES = 32;
const NAME_PATTERN = /^checkpoint-(\d{12})\.vckp$/;
/** Enough history to survive one damaged file while bounding disk use (a 100k-parameter model is 400 kB each). */
export const DEFAULT_CHECKPOINTS_KEPT = 3;

/** What a checkpoint says about itself; `info` carries small caller-defined fields (model spec, optimizer). */
export const checkpointMetaSchema = z
  .object({
    roundId: z.string().min(1),
    taskId: z.string().min(1).optional(),
    /** Content hash of the global model this checkpoint was trained from or is. */
    modelRef: z.string().optional(),
    createdAtMs: z.number().int().nonnegative(),
    info: z.record(z.union([z.string(), z.number(), z.boolean()])).optional(),
  })
  .strict();
export type CheckpointMeta = z.output<typeof checkpointMetaSchema>;

export interface Checkpoint {
  /** Monotonic sequence number of the save. */
  readonly seq: number;
  readonly meta: CheckpointMeta;
  readonly params: Float32Array;
}

export interface LoadResult {
  /** The newest checkpoint that verifies, or `undefined` if none does. */
  readonly checkpoint: Checkpoint | undefined;
  /** Newer files that failed verification and were skipped (newest first), with the reason. */
  readonly skipped: readonly { readonly file: string; readonly reason: string }[];
}

/** Serialises a checkpoint into the self-checking file format. */
export function encodeCheckpoint(meta: CheckpointMeta, params: Float32Array): Uint8Array {
  const metaBytes = new TextEncoder().encode(JSON.stringify(checkpointMetaSchema.parse(meta)));
  const body = HEADER_BYTES + metaBytes.length + 4 + params.length * 4;
  const out = new Uint8Array(body + DIGEST_BYTES);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint8(4, VERSION);
  view.setUint32(5, metaBytes.length, true);
  out.set(metaBytes, HEADER_BYTES);
  let offset = HEADER_BYTES + metaBytes.length;
  view.setUint32(offset, params.length, true);
  offset += 4;
  for (let i = 0; i < params.length; i++) view.setFloat32(offset + i * 4, params[i]!, true);
  out.set(createHash("sha256").update(out.subarray(0, body)).digest(), body);
  return out;
}

/** Parses and verifies a checkpoint file; any defect is a `StorageCorruptError` naming it. */
export function decodeCheckpoint(bytes: Uint8Array, label = "checkpoint"): Omit<Checkpoint, "seq"> {
  const corrupt = (why: string) => new StorageCorruptError(label, `${label} is corrupt: ${why}`);
  if (bytes.length < HEADER_BYTES + 4 + DIGEST_BYTES) throw corrupt("truncated");
  const body = bytes.length - DIGEST_BYTES;
  const digest = createHash("sha256").update(bytes.subarray(0, body)).digest();
  if (!digest.equals(bytes.subarray(body))) throw corrupt("checksum mismatch (torn write or bit rot)");
  if (MAGIC.some((b, i) => bytes[i] !== b)) throw corrupt("bad magic");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(4) !== VERSION) throw corrupt(`unsupported version ${view.getUint8(4)}`);
  const metaLength = view.getUint32(5, true);
  if (HEADER_BYTES + metaLength + 4 > body) throw corrupt("metadata length out of range");
  let meta: CheckpointMeta;
  try {
    const raw: unknown = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(
        bytes.subarray(HEADER_BYTES, HEADER_BYTES + metaLength),
      ),
    );
    meta = checkpointMetaSchema.parse(raw);
  } catch {
    throw corrupt("metadata is not valid");
  }
  const countOffset = HEADER_BYTES + metaLength;
  const count = view.getUint32(countOffset, true);
  if (countOffset + 4 + count * 4 !== body) throw corrupt("parameter count does not match the file size");
  const params = new Float32Array(count);
  for (let i = 0; i < count; i++) params[i] = view.getFloat32(countOffset + 4 + i * 4, true);
  return { meta, params };
}

export interface CheckpointStoreOptions {
  /** How many checkpoints to retain (>= 2, so one damaged file never loses all progress). */
  readonly keep?: number;
  /** Skip fsync (tests only). */
  readonly noSync?: boolean;
}

/** A directory of rotating, self-verifying checkpoints. */
export class CheckpointStore {
  readonly dir: string;
  private readonly keep: number;
  private readonly noSync: boolean;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(dir: string, options: CheckpointStoreOptions = {}) {
    const keep = options.keep ?? DEFAULT_CHECKPOINTS_KEPT;
    if (!Number.isInteger(keep) || keep < 2) {
      throw new StorageError("STORAGE_INVALID_ARGUMENT", `keep must be an integer >= 2, got ${keep}`);
    }
    this.dir = dir;
    this.keep = keep;
    this.noSync = options.noSync ?? false;
  }

  /** Sequence numbers of the checkpoint files present, newest first. */
  async list(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    return names
      .map((n) => NAME_PATTERN.exec(n)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => b - a);
  }

  /** Path of the file holding checkpoint `seq`. */
  fileOf(seq: number): string {
    return join(this.dir, `checkpoint-${String(seq).padStart(12, "0")}.vckp`);
  }

  /** Saves a new checkpoint atomically, then prunes the oldest beyond `keep`. Returns its sequence number. */
  save(meta: CheckpointMeta, params: Float32Array): Promise<number> {
    const run = async (): Promise<number> => {
      const bytes = encodeCheckpoint(meta, params);
      await mkdir(this.dir, { recursive: true });
      const seqs = await this.list();
      const seq = (seqs[0] ?? 0) + 1;
      await writeFileAtomic(this.fileOf(seq), bytes, { noSync: this.noSync });
      for (const old of [seq, ...seqs].slice(this.keep)) await rm(this.fileOf(old), { force: true });
      for (const name of await readdir(this.dir)) {
        if (isTempFile(name)) await rm(join(this.dir, name), { force: true });
      }
      return seq;
    };
    const next = this.lock.then(run, run);
    this.lock = next.catch(() => undefined);
    return next;
  }

  /** Loads the newest checkpoint that verifies; damaged newer files are skipped and listed. */
  async loadLatest(): Promise<LoadResult> {
    const skipped: { file: string; reason: string }[] = [];
    for (const seq of await this.list()) {
      const file = this.fileOf(seq);
      try {
        const { meta, params } = decodeCheckpoint(new Uint8Array(await readFile(file)), file);
        return { checkpoint: { seq, meta, params }, skipped };
      } catch (error) {
        skipped.push({ file, reason: (error as Error).message });
      }
    }
    return { checkpoint: undefined, skipped };
  }
}
