import { ConfigError } from "./errors.ts";

/** Milliseconds per unit suffix accepted in durations ("500ms", "30s", "5m", "2h", "1d"). */
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration with a unit suffix into milliseconds. A bare number is rejected on purpose:
 * "30" is ambiguous (seconds? ms?) and silently wrong units are the classic config bug.
 */
export function parseDurationMs(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (match === null) {
    throw new ConfigError(
      "DURATION_INVALID",
      `invalid duration "${text}": use a number with a unit, e.g. 500ms, 30s, 5m, 2h`,
    );
  }
  const value = Number(match[1]);
  const unitMs = UNIT_MS[match[2] ?? ""];
  if (unitMs === undefined) throw new ConfigError("DURATION_INVALID", `invalid duration unit in "${text}"`);
  return Math.round(value * unitMs);
}
