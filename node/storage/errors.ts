/**
 * Storage failures, one class per kind so callers can switch on the type (or on `code`); messages are one line.
 */

export type StorageErrorCode =
  | "STORAGE_CORRUPT"
  | "STORAGE_NOT_FOUND"
  | "STORAGE_QUOTA_EXCEEDED"
  | "STORAGE_INVALID_ARGUMENT"
  | "STATE_INVALID"
  | "CHECKPOINT_NONE";

/** Base class of every storage error; `code` is machine-readable. */
export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string) {
    super(message);
    this.name = "StorageError";
    this.code = code;
  }
}

/** Stored bytes do not hash to their address, or a checkpoint fails its checksum: the file must be re-fetched. */
export class StorageCorruptError extends StorageError {
  readonly hash: string;
  constructor(hash: string, message: string) {
    super("STORAGE_CORRUPT", message);
    this.name = "StorageCorruptError";
    this.hash = hash;
  }
}

/** No object with this hash is stored (never written, deleted or evicted). */
export class StorageNotFoundError extends StorageError {
  constructor(message: string) {
    super("STORAGE_NOT_FOUND", message);
    this.name = "StorageNotFoundError";
  }
}

/** A write would exceed the disk quota even after evicting everything that may be evicted. */
export class StorageQuotaError extends StorageError {
  readonly neededBytes: number;
  readonly quotaBytes: number;
  constructor(neededBytes: number, quotaBytes: number, message: string) {
    super("STORAGE_QUOTA_EXCEEDED", message);
    this.name = "StorageQuotaError";
    this.neededBytes = neededBytes;
    this.quotaBytes = quotaBytes;
  }
}
