/**
 * When a trainer whose update push failed may push again (#21). A failed push used to be retried on the very
 * next tick. At 256 nodes the aggregator's host was saturated, a dial (Noise handshake and admission on both
 * sides, 5 s limit: mesh.ts REACH_DIAL_TIMEOUT_MS) waited behind the other trainers' dials and timed out, and its
 * half-done work was thrown away and redone at once: 3,497 dial timeouts, deliveries crawling for minutes
 * (2026-12-06, docs/scaling.md). Each further failure doubles the pause (exponential back-off), half of it drawn
 * at random so the trainers that failed together do not return together (jitter), and the pause never exceeds a
 * fraction of the aggregator's wait, so a trainer still tries several times before the aggregator stops waiting.
 */

/** Pause after the first failure, ms: about one handshake's time limit (a dial that timed out gets that again). */
export const PUSH_BACKOFF_FIRST_MS = 4_000;
/** Longest pause, ms: a trainer that cannot reach the aggregator for minutes still tries once a minute. */
export const PUSH_BACKOFF_MAX_MS = 60_000;
/** A trainer tries at least this many times within the aggregator's wait (the pause is at most wait / this). */
export const PUSH_TRIES_WITHIN_WAIT = 8;

/**
 * The pause, ms, after the `failures`-th failed push in a row (1 or more), for an aggregator that waits
 * `aggregatorWaitMs` for missing updates: between half and all of min(first × 2^(failures − 1), max,
 * wait / tries). `random` returns a number in [0, 1).
 */
export function pushRetryDelayMs(
  failures: number,
  aggregatorWaitMs: number,
  random: () => number = Math.random,
): number {
  const doubled = PUSH_BACKOFF_FIRST_MS * 2 ** Math.max(0, Math.min(failures - 1, 16));
  const ceiling = Math.min(doubled, PUSH_BACKOFF_MAX_MS, aggregatorWaitMs / PUSH_TRIES_WITHIN_WAIT);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
