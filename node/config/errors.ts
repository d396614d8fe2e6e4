/** A configuration problem the user can fix; `message` is one readable line, `code` is machine-readable. */
export class ConfigError extends Error {
  readonly code: "CONFIG_INVALID" | "CONFIG_FILE_UNREADABLE" | "DURATION_INVALID";
  constructor(code: ConfigError["code"], message: string) {
    super(message);
    this.name = "ConfigError";
    this.code = code;
  }
}
