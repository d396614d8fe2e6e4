/**
 * Keeps a repeated warning from flooding the log: a node that polls the chain every second would otherwise
 * print the same "cannot do X yet" line 3,600 times an hour and bury the lines that matter. The first
 * occurrence of a warn/error message is logged at once; repeats within `windowMs` are counted, and the next
 * one after the window is logged with `repeated: <count>` so the summary says how often it happened.
 */
import type { LoggerOptions } from "pino";

/** One minute: long enough to turn a once-a-second loop into one line a minute, short enough to show it persists. */
export const LOG_REPEAT_WINDOW_MS = 60_000;
/** Pino's level number of `warn`: info and below are never limited (they are rare and each is an event). */
const WARN_LEVEL = 40;
/** Distinct messages remembered; beyond it the memory is cleared (a bound, not a policy). */
const MAX_TRACKED_MESSAGES = 1_000;

export interface RepeatLimiterOptions {
  readonly windowMs?: number;
  readonly now?: () => number;
}

type LogMethodHook = NonNullable<NonNullable<LoggerOptions["hooks"]>["logMethod"]>;

/** A pino `hooks.logMethod` that rate-limits repeated warn/error messages (children inherit it). */
export function repeatLimiterHook(options: RepeatLimiterOptions = {}): LogMethodHook {
  const windowMs = options.windowMs ?? LOG_REPEAT_WINDOW_MS;
  const now = options.now ?? Date.now;
  const seen = new Map<string, { lastMs: number; suppressed: number }>();
  return function logMethod(this: unknown, args, method, level) {
    if (level < WARN_LEVEL) return method.apply(this, args);
    const [first, second] = args as unknown[];
    const message = typeof first === "string" ? first : typeof second === "string" ? second : "";
    const key = `${level}:${message}`;
    const at = now();
    const entry = seen.get(key);
    if (entry !== undefined && at - entry.lastMs < windowMs) {
      entry.suppressed++;
      return;
    }
    if (seen.size >= MAX_TRACKED_MESSAGES) seen.clear();
    seen.set(key, { lastMs: at, suppressed: 0 });
    if (entry !== undefined && entry.suppressed > 0) {
      const repeated = { repeated: entry.suppressed, repeatedWithinMs: at - entry.lastMs };
      if (typeof first === "object" && first !== null) {
        const merged = { ...(first as Record<string, unknown>), ...repeated };
        return method.apply(this, [merged, ...(args as unknown[]).slice(1)] as Parameters<typeof method>);
      }
      return method.apply(this, [repeated, ...(args as unknown[])] as Parameters<typeof method>);
    }
    return method.apply(this, args);
  };
}
