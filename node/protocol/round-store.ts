/**
 * What a node must not lose across a crash mid-round: its own committed update (else it cannot deliver
 * what it committed), the updates it received as aggregator (else it cannot prove its aggregate), and the
 * models it holds (else it must refetch them). Everything is written atomically (temp + fsync + rename);
 * every read is checked (update bytes against the sha256 in their name, models against their modelRef),
 * so a torn or corrupted file is dropped, never used.
 *
 * Layout under `<dataDir>/rounds/`: `<roundId>/own-<sha256>.update`, `<roundId>/from-<operator>-<sha256>.update`;
 * `<dataDir>/rounds/compressor.state` (the trainer's error-feedback residual, compression/state-file.ts);
 * `<dataDir>/rounds/optimizer.state` (its local optimizer's state, training/optimizer-state-file.ts);
 * `<dataDir>/rounds/pending-partials.json` (a group leader's partials not yet committed, round/partial-commit.ts);
 * under `<dataDir>/models/`: `<sha256>.f32`, and `<derived ref without 0x>.ref` (the content hash) for a round's model;
 * under `<dataDir>/aggregates/`: `<sha256>.agg`, each round's encoded aggregate this node checked against its posted
 * commitment (the task's history: a node that joins late or lost its disk replays it, round/model-sync.ts).
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";

import type { Address, Hex } from "viem";

import { writeFileAtomic } from "../storage/atomic.ts";
import { modelRef, paramsToBytes, bytesToParams } from "./models.ts";

/** Not a round number, so `prune` keeps it. */
const COMPRESSOR_STATE_FILE = "compressor.state";
const OPTIMIZER_STATE_FILE = "optimizer.state";
const PENDING_PARTIALS_FILE = "pending-partials.json";
/** More pending partials than a leader can have (one per group round it led, committed within a parent round). */
const MAX_PENDING_PARTIALS = 64;

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

export interface RoundStoreOptions {
  /**
   * A write the node can go on without failed (ENOSPC on a full disk, EIO): a received update or a model, which
   * the node also holds in memory. With this handler the store reports it and returns, so an aggregator whose
   * disk fills mid-round still aggregates, posts and proves from memory (a failed write must not become a
   * slashable missed aggregation); only a crash in that round loses what was not written. Without it, it throws.
   * The node's own update is never covered: it is written before the commit, so a failed write means no commit.
   */
  readonly onWriteError?: (path: string, error: unknown) => void;
}

export class RoundStore {
  private readonly roundsDir: string;
  private readonly modelsDir: string;
  private readonly aggregatesDir: string;
  private readonly options: RoundStoreOptions;

  constructor(dataDir: string, options: RoundStoreOptions = {}) {
    this.roundsDir = join(dataDir, "rounds");
    this.modelsDir = join(dataDir, "models");
    this.aggregatesDir = join(dataDir, "aggregates");
    this.options = options;
  }

  /** The update this node is about to commit; throws on any failure, so nothing is committed that is not on disk. */
  async saveOwnUpdate(roundId: bigint, bytes: Uint8Array): Promise<void> {
    const dir = join(this.roundsDir, roundId.toString());
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, `own-${sha256(bytes)}.update`), bytes);
  }

  /** Runs a write the node can do without; a failure goes to `onWriteError` when there is one. */
  private async optional(path: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (this.options.onWriteError === undefined) throw error;
      this.options.onWriteError(path, error);
    }
  }

  async loadOwnUpdate(roundId: bigint): Promise<Uint8Array | undefined> {
    const files = await this.list(roundId);
    for (const name of files) {
      const match = /^own-([0-9a-f]{64})\.update$/.exec(name);
      if (match === null) continue;
      const bytes = await this.readChecked(roundId, name, match[1]!);
      if (bytes !== undefined) return bytes;
    }
    return undefined;
  }

  async saveReceived(roundId: bigint, operator: Address, bytes: Uint8Array): Promise<void> {
    const dir = join(this.roundsDir, roundId.toString());
    const path = join(dir, `from-${operator.toLowerCase()}-${sha256(bytes)}.update`);
    await this.optional(path, async () => {
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(path, bytes);
    });
  }

  async loadReceived(roundId: bigint): Promise<{ operator: Address; bytes: Uint8Array }[]> {
    const out: { operator: Address; bytes: Uint8Array }[] = [];
    for (const name of await this.list(roundId)) {
      const match = /^from-(0x[0-9a-f]{40})-([0-9a-f]{64})\.update$/.exec(name);
      if (match === null) continue;
      const bytes = await this.readChecked(roundId, name, match[2]!);
      if (bytes !== undefined) out.push({ operator: match[1] as Address, bytes });
    }
    return out;
  }

  /**
   * Saves `params` as `<sha256>.f32`; a round's model (named by its derived `ref`, round/next-model.ts) also
   * gets `<ref>.ref`, holding the content hash, so it loads by either name.
   */
  async saveModel(params: Float32Array, ref?: Hex): Promise<Hex> {
    const bytes = paramsToBytes(params);
    const sha = modelRef(bytes);
    const path = join(this.modelsDir, `${sha.slice(2)}.f32`);
    await this.optional(path, async () => {
      await mkdir(this.modelsDir, { recursive: true });
      await writeFileAtomic(path, bytes);
      if (ref !== undefined && ref.toLowerCase() !== sha)
        await writeFileAtomic(
          join(this.modelsDir, `${ref.slice(2).toLowerCase()}.ref`),
          new TextEncoder().encode(sha.slice(2)),
        );
    });
    return ref ?? sha;
  }

  /** The model named `ref` (its content hash, or a derived ref through its `.ref` file), checked by content. */
  async loadModel(ref: Hex, size: number): Promise<Float32Array | undefined> {
    const name = ref.slice(2).toLowerCase();
    const pointer = await readFile(join(this.modelsDir, `${name}.ref`), "utf8").catch(() => undefined);
    const sha = pointer !== undefined && /^[0-9a-f]{64}$/.test(pointer) ? pointer : name;
    const path = join(this.modelsDir, `${sha}.f32`);
    const bytes = await readFile(path).catch(() => undefined);
    if (bytes === undefined) return undefined;
    if (modelRef(bytes) !== `0x${sha}`) {
      await rm(path, { force: true });
      return undefined;
    }
    try {
      return bytesToParams(new Uint8Array(bytes), size);
    } catch {
      await rm(path, { force: true });
      return undefined;
    }
  }

  /**
   * Keeps a round's encoded aggregate (its served bytes, round-data.ts `aggregateBytesOf`) as `<sha256>.agg`,
   * for peers that replay the task's history. Optional: a lost one is fetched from another holder.
   */
  async saveAggregate(bytes: Uint8Array): Promise<string> {
    const sha = sha256(bytes);
    const path = join(this.aggregatesDir, `${sha}.agg`);
    await this.optional(path, async () => {
      await mkdir(this.aggregatesDir, { recursive: true });
      await writeFileAtomic(path, bytes);
    });
    return sha;
  }

  /** The aggregate bytes named `sha` (64 hex digits), checked by content; a torn file is dropped. */
  async loadAggregate(sha: string): Promise<Uint8Array | undefined> {
    if (!/^[0-9a-f]{64}$/.test(sha)) return undefined;
    const path = join(this.aggregatesDir, `${sha}.agg`);
    const bytes = await readFile(path).catch(() => undefined);
    if (bytes === undefined) return undefined;
    if (sha256(bytes) !== sha) {
      await rm(path, { force: true });
      return undefined;
    }
    return new Uint8Array(bytes);
  }

  /** The trainer's compressor state (error-feedback residual, momentum), replaced after every update. */
  async saveCompressorState(bytes: Uint8Array): Promise<void> {
    // Optional: a lost residual only delays what it held (the next updates carry the error again).
    await this.saveStateFile(COMPRESSOR_STATE_FILE, bytes);
  }

  /** The last saved compressor state (checked by its own checksum when decoded), if any. */
  async loadCompressorState(): Promise<Uint8Array | undefined> {
    return this.loadStateFile(COMPRESSOR_STATE_FILE);
  }

  /** The trainer's local optimizer state (moments, step count), replaced after every training run. */
  async saveOptimizerState(bytes: Uint8Array): Promise<void> {
    // Optional: a lost state only restarts the moments from zero, as every round did before train.optimizer.
    await this.saveStateFile(OPTIMIZER_STATE_FILE, bytes);
  }

  /** The last saved optimizer state (checked by its own checksum when decoded), if any. */
  async loadOptimizerState(): Promise<Uint8Array | undefined> {
    return this.loadStateFile(OPTIMIZER_STATE_FILE);
  }

  /** The group rounds whose partial this node, their aggregator, has yet to commit (round/partial-commit.ts). */
  async savePendingPartials(roundIds: readonly bigint[]): Promise<void> {
    // Optional: a lost list costs the partials it named (their group rounds are paid; the parent takes fewer).
    await this.saveStateFile(
      PENDING_PARTIALS_FILE,
      new TextEncoder().encode(JSON.stringify(roundIds.map(String))),
    );
  }

  /** The pending partials saved last; none when the file is missing or not a list of round IDs. */
  async loadPendingPartials(): Promise<bigint[]> {
    const bytes = await this.loadStateFile(PENDING_PARTIALS_FILE);
    if (bytes === undefined) return [];
    try {
      const ids: unknown = JSON.parse(new TextDecoder().decode(bytes));
      if (!Array.isArray(ids) || ids.length > MAX_PENDING_PARTIALS) return [];
      return ids.every((id) => typeof id === "string" && /^\d{1,20}$/.test(id))
        ? ids.map((id) => BigInt(id as string))
        : [];
    } catch {
      return []; // a torn write: JSON that does not parse
    }
  }

  /** Replaces one of the trainer's optional state files (a lost one only costs what it held). */
  private async saveStateFile(name: string, bytes: Uint8Array): Promise<void> {
    const path = join(this.roundsDir, name);
    await this.optional(path, async () => {
      await mkdir(this.roundsDir, { recursive: true });
      await writeFileAtomic(path, bytes);
    });
  }

  /** One of the trainer's state files, if any (each format checks its own checksum when decoded). */
  private async loadStateFile(name: string): Promise<Uint8Array | undefined> {
    const bytes = await readFile(join(this.roundsDir, name)).catch(() => undefined);
    return bytes === undefined ? undefined : new Uint8Array(bytes);
  }

  /** Drops state of rounds older than `keepFrom`. */
  async prune(keepFrom: bigint): Promise<void> {
    const rounds = await readdir(this.roundsDir).catch((): string[] => []);
    for (const name of rounds) {
      if (/^\d+$/.test(name) && BigInt(name) < keepFrom)
        await rm(join(this.roundsDir, name), { recursive: true, force: true });
    }
  }

  private async list(roundId: bigint): Promise<string[]> {
    return readdir(join(this.roundsDir, roundId.toString())).catch((): string[] => []);
  }

  private async readChecked(
    roundId: bigint,
    name: string,
    expected: string,
  ): Promise<Uint8Array | undefined> {
    const path = join(this.roundsDir, roundId.toString(), name);
    const bytes = await readFile(path).catch(() => undefined);
    if (bytes === undefined) return undefined;
    if (sha256(bytes) !== expected) {
      await rm(path, { force: true });
      return undefined;
    }
    return new Uint8Array(bytes);
  }
}
