/**
 * An in-memory {@link NodeStatusSource}: holds the latest {@link NodeStatus} and fans events out to
 * subscribers. The node's runtime (or the chain-backed source, or a test) writes into it through
 * `setPeers` / `setRound` / `addRoundMetrics` / `addSlash` / `update`; each write emits the matching event, so
 * the snapshot served by `/api/status` and the live stream never disagree.
 */
import { Registry } from "prom-client";

import type {
  NodeEvent,
  NodeStatus,
  NodeStatusSource,
  PeerStatus,
  RoundMetrics,
  RoundStatus,
  RoundTimelineEntry,
  SlashEvent,
} from "./status.ts";

/** How many finished rounds and slashes the snapshot keeps (the dashboard plots the recent past only). */
export const STATUS_HISTORY_LIMIT = 500;

type Listener = (event: NodeEvent) => void;

export class MemoryStatusSource implements NodeStatusSource {
  readonly metrics: Registry;
  #status: NodeStatus;
  readonly #listeners = new Set<Listener>();

  constructor(initial: NodeStatus, metrics: Registry = new Registry()) {
    this.#status = initial;
    this.metrics = metrics;
  }

  status(): NodeStatus {
    return this.#status;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Number of live subscribers (the status server holds one per open event stream). */
  get subscriberCount(): number {
    return this.#listeners.size;
  }

  /** Replaces fields that have no event of their own (readiness, resources, identity). */
  update(patch: Partial<Omit<NodeStatus, "peers" | "round" | "history" | "slashes" | "timeline">>): void {
    const before = this.#status;
    this.#status = { ...before, ...patch };
    // Readiness and alerts are news for a watching dashboard (a paused node must not look live): an event.
    if (before.ready !== this.#status.ready || before.alerts !== this.#status.alerts) {
      this.#emit({ type: "health", ready: this.#status.ready, alerts: this.#status.alerts ?? [] });
    }
  }

  setPeers(peers: readonly PeerStatus[]): void {
    this.#status = { ...this.#status, peers };
    this.#emit({ type: "peers", peers });
  }

  setRound(round: RoundStatus | null): void {
    this.#status = { ...this.#status, round };
    this.#emit({ type: "round", round });
  }

  /** Adds or replaces (same `roundId`) a finished round's figures. */
  addRoundMetrics(metrics: RoundMetrics): void {
    const others = this.#status.history.filter((entry) => entry.roundId !== metrics.roundId);
    this.#status = { ...this.#status, history: [...others, metrics].slice(-STATUS_HISTORY_LIMIT) };
    this.#emit({ type: "metrics", metrics });
  }

  /** Adds or replaces (same `roundId`) a round of the timeline, which stays sorted by round. */
  upsertTimeline(entry: RoundTimelineEntry): void {
    const others = (this.#status.timeline ?? []).filter((e) => e.roundId !== entry.roundId);
    const timeline = [...others, entry]
      .sort((a, b) => Number(BigInt(a.roundId) - BigInt(b.roundId)))
      .slice(-STATUS_HISTORY_LIMIT);
    this.#status = { ...this.#status, timeline };
    this.#emit({ type: "timeline", entry });
  }

  addSlash(slash: SlashEvent): void {
    this.#status = {
      ...this.#status,
      slashes: [...this.#status.slashes, slash].slice(-STATUS_HISTORY_LIMIT),
    };
    this.#emit({ type: "slash", slash });
  }

  #emit(event: NodeEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch {
        // One broken subscriber (e.g. a closed stream) must not starve the others.
      }
    }
  }
}
