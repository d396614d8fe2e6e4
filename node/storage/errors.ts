/** Storage failures: a machine-readable `code` and a one-line message. */

export type StorageErrorCode = "STATE_INVALID";

/** Base class of every storage error; `code` is machine-readable. */
export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string) {
    super(message);
    this.name = "StorageError";
    this.code = code;
  }
}
