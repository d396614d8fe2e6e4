/** Errors of the status API server: a stable `code` and a one-line message the CLI can print as is. */
export type StatusServerErrorCode = "INVALID_OPTIONS" | "PORT_IN_USE" | "LISTEN_FAILED" | "UI_DIR_MISSING";

export class StatusServerError extends Error {
  override readonly name = "StatusServerError";
  readonly code: StatusServerErrorCode;

  constructor(code: StatusServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
