/**
 * Why a node takes no new work in a round, said at most once a minute per reason: a long slow spell or a full
 * disk would otherwise repeat the same warning every tick.
 */
import type { Logger } from "pino";

/** At most one notice of each kind per this interval (ms). */
const NOTICE_INTERVAL_MS = 60_000;

export class SitOutNotices {
  private readonly log: Logger;
  private slowAt = 0;
  private heldAt = 0;

  constructor(log: Logger) {
    this.log = log;
  }

  /** A committed trainer can be drawn as aggregator (no candidate had stake) or as its backup: too slow to prove, it sits out. */
  slow(roundId: bigint, neededMs: number): void {
    if (Date.now() - this.slowAt < NOTICE_INTERVAL_MS) return;
    this.slowAt = Date.now();
    this.log.warn(
      { roundId: roundId.toString(), neededMs: Math.round(neededMs) },
      "not committing: this node's recent proofs plus the answer transaction exceed the task's answer window (it could be drawn to aggregate and be slashed); it takes part again once its proofs are fast",
    );
  }

  /** The node holds back new work (its disk is full); duties it already holds go on. */
  held(roundId: bigint, reason: string): void {
    if (Date.now() - this.heldAt < NOTICE_INTERVAL_MS) return;
    this.heldAt = Date.now();
    this.log.warn(
      { roundId: roundId.toString(), reason },
      "not training this round: this node takes no new work until the reason is gone",
    );
  }
}
