/** Why an encoded update was refused. */
export type UpdateDecodeErrorCode =
  "TRUNCATED" | "BAD_MAGIC" | "UNSUPPORTED_VERSION" | "OVERSIZED" | "BAD_CHECKSUM" | "MALFORMED";

/** An encoded update is malformed, truncated, oversized or corrupted. Never crashes the receiver. */
export class UpdateDecodeError extends Error {
  override readonly name = "UpdateDecodeError";
  readonly code: UpdateDecodeErrorCode;

  constructor(code: UpdateDecodeErrorCode, message: string) {
    super(`cannot decode update: ${message}`);
    this.code = code;
  }
}
