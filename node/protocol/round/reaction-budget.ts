/**
 * Whether this node reacts to the chain fast enough to take a duty with a deadline. Every trainer can be drawn as
 * a round's aggregator (when no candidate opted in) or as its backup, and must then notice its selection, gather
 * the updates and post within the task's aggregate window, or be slashed for a missed aggregation. How fast it
 * notices is set by its round ticks: each reads the chain and acts, one at a time, so a change lands in the tick
 * after the one running when it happened.
 *
 * On a saturated machine a tick can take many seconds (the chain process and every node compete for two cores):
 * in a soak at load 7-15, every node of a 5-node network noticed its selection 14-23 s late, and three honest
 * fallback aggregators were slashed for missing 15 s windows (2026-12-06). So the node counts its slowest recent
 * ticks and, while `REACTION_TICKS` of them plus the poll interval exceed the aggregate window, it does not commit
 * and withdraws its aggregator opt-in, as it does while its proofs are too slow (proving-budget.ts): a round it sits
 * out costs it a reward, a missed aggregation costs it stake.
 */

/**
 * Ticks between a change on chain and the aggregator's post: the tick running when the selection landed (it read
 * the chain before), the tick that sees it, and the one that posts (aggregation, screening and the transaction).
 */
export const REACTION_TICKS = 3;
/** Ticks kept (the second slowest counts, so one outlier such as a start-up restore does not sit the node out). */
export const RECENT_TICKS_KEPT = 20;

export class ReactionBudget {
  private recent: number[] = [];
  /** The aggregate window of the task last seen (ms); undefined before the node saw the task. */
  private windowMs: number | undefined;
  private readonly pollIntervalMs: number;

  /** @param pollIntervalMs the round tick's interval (ms): a tick starts at most this long after the last ended */
  constructor(pollIntervalMs: number) {
    this.pollIntervalMs = pollIntervalMs;
  }

  /** The task's aggregate window (chain seconds), the time a drawn aggregator has. */
  setWindow(aggregateWindowS: bigint): void {
    this.windowMs = Number(aggregateWindowS) * 1000;
  }

  /** Counts one round tick's wall time (ms). */
  record(tickMs: number): void {
    if (!Number.isFinite(tickMs) || tickMs < 0) return;
    this.recent.push(tickMs);
    if (this.recent.length > RECENT_TICKS_KEPT) this.recent.shift();
  }

  /** What this node needs from a selection to its post now (ms), from its recent ticks. */
  neededMs(): number {
    return REACTION_TICKS * this.slowTickMs() + this.pollIntervalMs;
  }

  /**
   * The longest expected time between two of this node's ticks (ms): the poll interval plus its slow recent tick.
   * A deadline check runs only on a tick, so an aggregator's post margin holds one such gap (post-margin.ts).
   */
  tickGapMs(): number {
    return this.pollIntervalMs + this.slowTickMs();
  }

  /** The second slowest of the recent ticks (ms; one outlier such as a start-up restore does not count). */
  private slowTickMs(): number {
    const sorted = [...this.recent].sort((a, b) => b - a);
    return sorted[1] ?? sorted[0] ?? 0;
  }

  /** Whether a drawn aggregator could post in time now (true before the task was seen). */
  fits(): boolean {
    return this.windowMs === undefined || this.neededMs() <= this.windowMs;
  }

  /** The aggregate window this node measures itself against (ms), once seen. */
  get aggregateWindowMs(): number | undefined {
    return this.windowMs;
  }
}
