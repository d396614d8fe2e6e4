/** Resource configuration problems the operator can fix; `code` is machine-readable, the message one line. */
export class ResourceLimitError extends Error {
  readonly code: "LIMITS_INVALID" | "BYTE_SIZE_INVALID" | "RATE_INVALID";
  constructor(code: ResourceLimitError["code"], message: string) {
    super(message);
    this.name = "ResourceLimitError";
    this.code = code;
  }
}
