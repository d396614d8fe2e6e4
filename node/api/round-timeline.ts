/**
 * The round timeline kept by the chain-backed status source: one entry per round (opened, aggregator, closed,
 * why it failed, what this node's operator earned in it), built from the contracts' events alone. Because the
 * chain is replayed from the deployment block at every start, the timeline and the earnings history are the
 * same after a node restart as before it.
 */
import { getAddress } from "viem";
import type { Address } from "viem";

import type { RoundPhase, RoundTimelineEntry } from "./status.ts";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Why a round failed, in the operator's words, by the event that made it fail. */
export const FAILURE_TEXT = {
  selectionExpired: "no aggregator was selected in time",
  aggregationMissed: "the aggregator missed its deadline",
  challengeFailed: "the aggregator failed a challenge",
  statementDisputed: "a proof statement was disputed",
  contested: "contested: too many challenges",
  aggregatorEquivocation: "the aggregator equivocated",
} as const;

export class RoundTimeline {
  readonly #operator: Address;
  readonly #entries = new Map<string, Mutable<RoundTimelineEntry>>();
  readonly #changed = new Set<string>();

  /** `operator`: this node's operator, whose rewards and duties the timeline marks. */
  constructor(operator: Address) {
    this.#operator = getAddress(operator);
  }

  #entry(roundId: bigint): Mutable<RoundTimelineEntry> {
    const key = roundId.toString();
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      // A round seen before its RoundOpened (cannot happen when replaying from deployment): unknown task/time.
      entry = { roundId: key, taskId: "0", phase: "committing", reward: "0", trained: false };
      this.#entries.set(key, entry);
    }
    this.#changed.add(key);
    return entry;
  }

  #isOperator(account: Address): boolean {
    return getAddress(account) === this.#operator;
  }

  opened(roundId: bigint, taskId: bigint, atMs: number | undefined): void {
    const entry = this.#entry(roundId);
    entry.taskId = taskId.toString();
    if (atMs !== undefined) entry.openedAt = atMs;
  }

  committed(roundId: bigint, trainer: Address): void {
    if (this.#isOperator(trainer)) this.#entry(roundId).trained = true;
  }

  selected(roundId: bigint, aggregator: Address): void {
    const entry = this.#entry(roundId);
    entry.aggregator = getAddress(aggregator);
    entry.ownAggregator = this.#isOperator(aggregator);
    this.#advance(entry, "aggregating");
  }

  /** The backup took over a missed aggregation (the miss stays the reason if the round still fails). */
  replaced(roundId: bigint, backup: Address): void {
    this.selected(roundId, backup);
  }

  posted(roundId: bigint): void {
    this.#advance(this.#entry(roundId), "challenging");
  }

  /** The event that will make (or made) the round fail; the first one seen is the reason shown. */
  failing(roundId: bigint, reason: string): void {
    const entry = this.#entry(roundId);
    entry.failure ??= reason;
  }

  closed(roundId: bigint, finalized: boolean, atMs: number | undefined): void {
    const entry = this.#entry(roundId);
    entry.phase = finalized ? "finalized" : "failed";
    if (finalized)
      delete entry.failure; // a backup aggregator finalized a round whose first aggregator missed
    else entry.failure ??= "failed";
    if (atMs !== undefined) entry.closedAt = atMs;
  }

  rewarded(roundId: bigint, account: Address, amountWei: bigint): void {
    if (!this.#isOperator(account)) return;
    const entry = this.#entry(roundId);
    entry.reward = (BigInt(entry.reward) + amountWei).toString();
  }

  /** Entries changed since the last call, oldest round first. */
  takeChanged(): RoundTimelineEntry[] {
    const changed = [...this.#changed]
      .map((key) => this.#entries.get(key))
      .filter((entry): entry is Mutable<RoundTimelineEntry> => entry !== undefined)
      .sort((a, b) => Number(BigInt(a.roundId) - BigInt(b.roundId)))
      .map((entry) => ({ ...entry }));
    this.#changed.clear();
    return changed;
  }

  /** Phases only move forward (a late event of an earlier phase does not move a closed round back). */
  #advance(entry: Mutable<RoundTimelineEntry>, phase: RoundPhase): void {
    if (entry.phase === "finalized" || entry.phase === "failed") return;
    entry.phase = phase;
  }
}
