/** Why a peer's message, stream or admission was refused; `code` is stable and machine-readable. */
export type MeshErrorCode =
  | "FRAME_MALFORMED"
  | "FRAME_TOO_LARGE"
  | "STREAM_TIMEOUT"
  | "STREAM_TRUNCATED"
  | "BLOB_TOO_LARGE"
  | "BLOB_HASH_MISMATCH"
  | "BLOB_REJECTED"
  | "BLOB_NOT_FOUND"
  | "NOT_ADMITTED"
  /** The peer asked more often than its own rate allows (docs/protocol.md §6). */
  | "RATE_LIMITED"
  | "PEER_UNREACHABLE";

/** A mesh protocol failure caused by a peer or the network, never by a bug of ours. */
export class MeshError extends Error {
  override readonly name = "MeshError";
  readonly code: MeshErrorCode;
  readonly shortMessage: string;
  constructor(code: MeshErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.shortMessage = message;
  }
}
