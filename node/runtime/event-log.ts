/**
 * One log line for each event an operator cares about, from what the status source reads off the chain:
 * this node selected as a round's aggregator, a round finalized or failed, a slash (this operator's as an
 * error, with reason and amount; a peer's as info), a reward credited. Events replayed from before the node
 * started are not news: the log only speaks once `live()` is called after the first poll.
 */
import type { Logger } from "pino";
import type { Address } from "viem";

import type { MemoryStatusSource } from "../api/memory-source.ts";
import type { NodeEvent } from "../api/status.ts";
import { formatTokens } from "../chain/amounts.ts";

export interface EventLogInit {
  readonly source: MemoryStatusSource;
  readonly operator: Address;
  readonly log: Logger;
}

export class EventLog {
  private readonly init: EventLogInit;
  private readonly me: string;
  private unsubscribe: (() => void) | undefined;
  private isLive = false;
  /** Per round, what was already said (a round is re-read every poll). */
  private readonly said = new Map<string, Set<string>>();

  constructor(init: EventLogInit) {
    this.init = init;
    this.me = init.operator.toLowerCase();
  }

  start(): void {
    this.unsubscribe = this.init.source.subscribe((event) => this.onEvent(event));
  }

  /** From now on events are news (call after the first poll has replayed history). */
  live(): void {
    this.isLive = true;
  }

  stop(): void {
    this.unsubscribe?.();
  }

  /** A reward credited to this operator (from the status source's `onReward`). */
  reward(roundId: bigint, amountWei: bigint): void {
    if (!this.isLive) return;
    this.init.log.info(
      { roundId: roundId.toString(), amountWei: amountWei.toString() },
      `reward credited: ${formatTokens(amountWei)} for round ${roundId} (claim with vain-node claim)`,
    );
  }

  private once(roundId: string, what: string): boolean {
    let said = this.said.get(roundId);
    if (said === undefined) {
      said = new Set();
      this.said.set(roundId, said);
      // Old rounds can no longer change; keep the memory bounded.
      if (this.said.size > 64) this.said.delete(this.said.keys().next().value!);
    }
    if (said.has(what)) return false;
    said.add(what);
    return this.isLive;
  }

  private onEvent(event: NodeEvent): void {
    const { log } = this.init;
    if (event.type === "round" && event.round !== null) {
      const round = event.round;
      if (round.aggregator?.toLowerCase() === this.me && this.once(round.roundId, "selected")) {
        log.info(
          { roundId: round.roundId, aggregateDeadlineMs: round.deadlines.aggregate },
          `selected as aggregator of round ${round.roundId}`,
        );
      }
      if (round.phase === "finalized" && this.once(round.roundId, "closed")) {
        log.info({ roundId: round.roundId, trainers: round.trainers }, `round ${round.roundId} finalized`);
      } else if (round.phase === "failed" && this.once(round.roundId, "closed")) {
        log.warn(
          { roundId: round.roundId, aggregator: round.aggregator },
          `round ${round.roundId} failed (no valid aggregate: the model is unchanged)`,
        );
      }
    } else if (event.type === "slash" && this.isLive) {
      const { slash } = event;
      const amount = formatTokens(BigInt(slash.amount));
      if (slash.operator.toLowerCase() === this.me) {
        log.error(
          { amountWei: slash.amount, reason: slash.reason, txHash: slash.txHash },
          `this operator was slashed ${amount}: ${slash.reason}`,
        );
      } else {
        log.info(
          { operator: slash.operator, amountWei: slash.amount, reason: slash.reason },
          `operator ${slash.operator} slashed ${amount}: ${slash.reason}`,
        );
      }
    }
  }
}
