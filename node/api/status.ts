/**
 * The node's observable state, shared by the HTTP status API, the dashboard and the CLI's `status`.
 * The running node implements {@link NodeStatusSource}; everything here is JSON-safe (bigints as decimal strings).
 */
import type { Registry } from "prom-client";

export type Address = `0x${string}`;

/** Round phases as the node sees them (a superset of the on-chain states, which only know Open/Aggregated/...). */
export type RoundPhase =
  "idle" | "training" | "committing" | "aggregating" | "verifying" | "challenging" | "finalized" | "failed";

export interface PeerStatus {
  readonly peerId: string;
  readonly operator: Address;
  /** Active stake in wei, decimal string. */
  readonly stake: string;
  /** Reputation in [0, 1]. */
  readonly reputation: number;
  readonly connected: boolean;
  readonly latencyMs?: number;
  /** The peer's protocol-violation points now (decaying; refused at `AbuseSnapshot.thresholdPoints`). */
  readonly abusePoints?: number;
}

export interface RoundStatus {
  readonly roundId: string;
  readonly taskId: string;
  readonly phase: RoundPhase;
  /** Deadlines as unix milliseconds (chain time). */
  readonly deadlines: { readonly commit?: number; readonly aggregate?: number; readonly challenge?: number };
  readonly trainers: number;
  readonly aggregator?: Address;
}

/** One finished round, for the history plots. */
export interface RoundMetrics {
  readonly roundId: string;
  /** The round's task (absent in rows saved before it was recorded): a group task's node also runs its parent's. */
  readonly taskId?: string;
  /**
   * Held-out accuracy of the round's model; null when the node could not evaluate it (it no longer held the
   * model, e.g. the round finished while the node was down): unknown, never a 0 that would plot as a collapse.
   */
  readonly accuracy: number | null;
  readonly loss: number | null;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly proofMs?: number;
  /** Rewards credited to this node's operator in the round, wei decimal string. */
  readonly reward: string;
  readonly slashes: number;
  readonly proven: boolean;
  readonly finishedAt: number;
}

/**
 * One round as the chain saw it, for the dashboard's timeline and earnings history. Built from the contracts'
 * events (replayed at every start), so it is the same after a node restart.
 */
export interface RoundTimelineEntry {
  readonly roundId: string;
  readonly taskId: string;
  /** The phase the round's events reached; "finalized" or "failed" once it closed. */
  readonly phase: RoundPhase;
  /** Chain time of the block that opened the round, unix ms. */
  readonly openedAt?: number;
  /** Chain time of the block that finalized or failed it, unix ms. */
  readonly closedAt?: number;
  readonly aggregator?: Address;
  /** The aggregator selected is this node's operator. */
  readonly ownAggregator?: boolean;
  /** Why the round failed (absent unless it failed, or is failing: a slash was recorded before it closed). */
  readonly failure?: string;
  /** Rewards credited to this node's operator for the round (trainer share, aggregator share, bonds), wei. */
  readonly reward: string;
  /** This node's operator committed an update in the round. */
  readonly trained: boolean;
}

export interface SlashEvent {
  readonly operator: Address;
  /** Wei, decimal string. */
  readonly amount: string;
  readonly reason: string;
  readonly txHash: `0x${string}`;
  readonly blockNumber: string;
}

export interface ResourceSnapshot {
  readonly cpuPercent: number;
  readonly memoryRssBytes: number;
  readonly diskFreeBytes?: number;
  readonly netBytesPerSecond?: number;
}

/** Capacity attestation as the node sees it (docs/protocol.md §9); speeds in attestation reference samples/s. */
export interface CapacitySnapshot {
  /** Our own speed, measured locally at start (our claim). */
  readonly ownSamplesPerSec?: number;
  /** Median of the receipts other nodes signed for us (what scheduling believes), once attested. */
  readonly attestedSamplesPerSec?: number;
  readonly receipts: number;
  readonly lowPower: boolean;
  readonly aggregator?: { readonly optIn: boolean; readonly reason: string };
  readonly peers: readonly {
    readonly peerId: string;
    readonly capacity: {
      readonly samplesPerSec: number;
      readonly attested: boolean;
      readonly verifiers: number;
      readonly claimedSamplesPerSec: number;
      readonly lowPower: boolean;
      readonly aggregatorOptIn: boolean;
    };
  }[];
  /** Attestations this node ran as verifier, newest first. */
  readonly recentAttestations: readonly {
    readonly peerId: string;
    readonly status: string;
    readonly samplesPerSec?: number;
    readonly atMs: number;
  }[];
}

/** Mesh abuse as this node recorded it (docs/protocol.md §6, node/p2p/abuse.ts). */
export interface AbuseSnapshot {
  /** Points at which a peer is evicted and refused for a while. */
  readonly thresholdPoints: number;
  /** Peers with points now (decaying), most first. */
  readonly peers: readonly {
    readonly peerId: string;
    readonly operator?: Address;
    readonly points: number;
  }[];
  /** Per operator since the node started: violations by kind and refusals of its peers for abuse. */
  readonly operators: readonly {
    readonly operator: Address;
    readonly violations: Readonly<Record<string, number>>;
    readonly refusals: number;
  }[];
  /** Streams of libp2p services refused: from unadmitted peers, over a peer's rate. */
  readonly refusedStreams: { readonly notAdmitted: number; readonly overRate: number };
}

/** A condition that keeps the node from acting (`/ready` is false while any is raised), for the operator. */
export interface NodeAlert {
  /** `CHAIN_RESET`, `DISK_FULL`, …: stable, for the dashboard's banner and tests. */
  readonly code: string;
  readonly message: string;
  readonly sinceMs: number;
}

export interface NodeStatus {
  readonly version: string;
  readonly peerId: string;
  readonly operator: Address;
  readonly chainId: number;
  readonly rpcUrl: string;
  readonly contracts: {
    readonly token: Address;
    readonly stakeRegistry: Address;
    readonly trainingRounds: Address;
  };
  readonly ready: boolean;
  /** Conditions that make the node not ready although the chain answers (absent: none). */
  readonly alerts?: readonly NodeAlert[];
  readonly startedAt: number;
  readonly peers: readonly PeerStatus[];
  readonly round: RoundStatus | null;
  readonly history: readonly RoundMetrics[];
  /** Recent rounds, oldest first (absent: the source keeps no timeline). */
  readonly timeline?: readonly RoundTimelineEntry[];
  readonly slashes: readonly SlashEvent[];
  readonly resources?: ResourceSnapshot;
  readonly capacity?: CapacitySnapshot;
  readonly abuse?: AbuseSnapshot;
}

export type NodeEvent =
  | { readonly type: "round"; readonly round: RoundStatus | null }
  | { readonly type: "peers"; readonly peers: readonly PeerStatus[] }
  | { readonly type: "metrics"; readonly metrics: RoundMetrics }
  | { readonly type: "slash"; readonly slash: SlashEvent }
  | { readonly type: "timeline"; readonly entry: RoundTimelineEntry }
  /** Readiness or alerts changed (a chain reset, a full disk, the chain down or back). */
  | { readonly type: "health"; readonly ready: boolean; readonly alerts: readonly NodeAlert[] };

/** What the status API needs from a running node. */
export interface NodeStatusSource {
  status(): NodeStatus;
  /** Live updates; returns the unsubscribe function. */
  subscribe(listener: (event: NodeEvent) => void): () => void;
  /** Prometheus registry holding the node's metrics. */
  readonly metrics: Registry;
}
