/**
 * The chain's time now, estimated from when its blocks were read (not from when a decision looks at them). An
 * aggregator compares its round's deadline with this estimate; the deadline binds on chain, where a post after it
 * is refused and the aggregator slashed.
 *
 * A round tick reads the head first and decides last. At 1,000 trainers in 4 host processes (2026-12-07,
 * docs/scaling.md Session 22, run 2) a tick took up to two minutes, and the aggregator aged the head's timestamp
 * from the moment its decision first looked at it: five leaf aggregators of one host decided with "284 s left"
 * when about 200 s were left, posted 219 s later, after their deadline, and were slashed. A node that acts
 * `confirmations` blocks behind the head (reorg safety) reads a timestamp older still by those blocks.
 *
 * So each observation is a block timestamp and the wall time its read was *asked* (the block existed by then),
 * and the estimate is the wall clock plus the largest offset (timestamp − asked) observed: a stale read (an old
 * block, a tick that decides late) only gives a smaller offset, and never makes the estimate later than the
 * freshest read says. A chain whose clock is moved forward (`evm_increaseTime` on a test chain) raises the offset
 * at the next read; a chain that makes blocks only for transactions gives its next block the wall time, which the
 * estimate is.
 */

export class ChainClock {
  /** The largest (block timestamp − wall time the read was asked), ms; undefined before any observation. */
  private offsetMs: number | undefined;

  /**
   * One read: the block's `timestamp` (chain seconds) and the wall time `askedAtMs` at which its read was sent
   * (Date.now() before the request).
   */
  observe(timestamp: bigint, askedAtMs: number): void {
    if (!Number.isFinite(askedAtMs)) return;
    const offset = Number(timestamp) * 1000 - askedAtMs;
    if (this.offsetMs === undefined || offset > this.offsetMs) this.offsetMs = offset;
  }

  /** The chain's time now (whole seconds, rounded down), or undefined before any observation. */
  now(nowMs: number = Date.now()): bigint | undefined {
    return this.offsetMs === undefined ? undefined : BigInt(Math.floor((nowMs + this.offsetMs) / 1000));
  }
}
