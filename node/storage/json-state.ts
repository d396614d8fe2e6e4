/**
 * A small JSON document persisted atomically and validated with zod on every read: round progress for resume,
 * reputation, the content store's index. Writes are serialised so concurrent updates never interleave.
 */
import { readFile } from "node:fs/promises";

import type { z } from "zod";

import { writeFileAtomic } from "./atomic.ts";
import { StorageError } from "./errors.ts";
import { STATE_FILE_MODE } from "./constants.ts";

export interface JsonStateFileOptions {
  /** File mode (default 0o600: state may reveal what the node is doing). */
  readonly mode?: number;
  /** Skip fsync (tests only). */
  readonly noSync?: boolean;
}

/** Atomically persisted JSON state of schema `S`. */
export class JsonStateFile<S extends z.ZodTypeAny> {
  readonly path: string;
  private readonly schema: S;
  private readonly options: JsonStateFileOptions;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(path: string, schema: S, options: JsonStateFileOptions = {}) {
    this.path = path;
    this.schema = schema;
    this.options = options;
  }

  /**
   * Reads and validates the state; `undefined` when the file does not exist yet.
   * A file that exists but is not valid JSON or fails the schema is a `StorageError` (`STATE_INVALID`):
   * silently starting from scratch could, e.g., forget a slash.
   */
  async read(): Promise<z.output<S> | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new StorageError("STATE_INVALID", `cannot read state ${this.path}: ${(error as Error).message}`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new StorageError("STATE_INVALID", `state ${this.path} is not valid JSON`);
    }
    const parsed = this.schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new StorageError(
        "STATE_INVALID",
        `state ${this.path} invalid at ${issue?.path.join(".") || "root"}: ${issue?.message ?? "?"}`,
      );
    }
    return parsed.data as z.output<S>;
  }

  /** Validates and atomically writes `value` (after any write already queued). */
  write(value: z.input<S>): Promise<void> {
    const run = async (): Promise<void> => {
      const parsed = this.schema.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new StorageError(
          "STATE_INVALID",
          `refusing to write invalid state to ${this.path}: ${issue?.path.join(".") || "root"}: ${issue?.message ?? "?"}`,
        );
      }
      await writeFileAtomic(this.path, `${JSON.stringify(parsed.data, null, 2)}\n`, {
        mode: this.options.mode ?? STATE_FILE_MODE,
        noSync: this.options.noSync,
      });
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Read-modify-write as one serialised step: `fn` receives the current state (or `undefined`). */
  update(fn: (current: z.output<S> | undefined) => z.input<S>): Promise<void> {
    const run = async (): Promise<void> => {
      const current = await this.read();
      const value = fn(current);
      const parsed = this.schema.safeParse(value);
      if (!parsed.success) {
        throw new StorageError("STATE_INVALID", `refusing to write invalid state to ${this.path}`);
      }
      await writeFileAtomic(this.path, `${JSON.stringify(parsed.data, null, 2)}\n`, {
        mode: this.options.mode ?? STATE_FILE_MODE,
        noSync: this.options.noSync,
      });
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
