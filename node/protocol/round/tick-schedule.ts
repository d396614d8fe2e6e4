/**
 * The round tick's schedule. A node notices every change of its rounds (its selection, a draw, a deadline) on its
 * next tick, so the time from one tick to the next is part of every transition of a round. With `setInterval`, a
 * tick that overran its interval (slow chain reads at load) made the next one wait for a whole further interval:
 * a change was noticed up to two intervals late. Here the next tick starts one interval after the last one
 * started, or, when that one overran, after a short rest (a quarter interval) that keeps a slow node from reading
 * the chain back to back.
 */

/** Runs `tick` every `intervalMs` (the first one interval from now) until `signal` aborts. */
export function scheduleTicks(tick: () => Promise<void>, intervalMs: number, signal: AbortSignal): void {
  const run = (): void => {
    if (signal.aborted) return;
    const started = Date.now();
    void tick()
      .catch(() => undefined) // a tick reports its own failures; the schedule goes on
      .finally(() => {
        if (signal.aborted) return;
        const wait = Math.max(intervalMs / 4, intervalMs - (Date.now() - started));
        setTimeout(run, wait);
      });
  };
  setTimeout(run, intervalMs);
}
