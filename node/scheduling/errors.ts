/** Scheduling failures; `code` is machine-readable and the message one line. */
export class SchedulingError extends Error {
  readonly code:
    | "CAPACITY_RECORD_MALFORMED"
    | "CAPACITY_RECORD_BAD_SIGNATURE"
    | "CAPACITY_RECORD_EXPIRED"
    | "ATTESTATION_MALFORMED"
    | "ATTESTATION_WRONG_RESULT"
    | "ATTESTATION_TOO_FAST"
    | "SCHEDULING_INVALID_INPUT";
  constructor(code: SchedulingError["code"], message: string) {
    super(message);
    this.name = "SchedulingError";
    this.code = code;
  }
}
