/**
 * The request/answer channel between bench:round's driver and its host processes (round-host.ts, round-hosts.ts):
 * one answer per command, tagged with the command's sequence number, over Node's IPC with the advanced
 * serialization (bigints and Float32Arrays pass as they are).
 */
import type { Address, Hex } from "viem";

import type { RoundOutcome, RoundProgress, TransferStats } from "../../node/protocol/round/context.ts";
import type { TaskSpec } from "../../node/protocol/task-spec.ts";

/** What a host needs to run its nodes: the chain, the task's spec and data split, and how its nodes poll. */
export interface HostStart {
  readonly rpcUrl: string;
  readonly contracts: { readonly token: Address; readonly registry: Address; readonly rounds: Address };
  /** The account the driver funded once for this host: it funds its own operators from it. */
  readonly funderKey: Hex;
  readonly minStake: bigint;
  /** Ether each operator gets for gas (network.ts `operatorEtherWei`). */
  readonly operatorEtherWei: bigint;
  readonly spec: TaskSpec;
  readonly dataSeed: number;
  /** How many trainers the data is split among (every process splits it the same way, by seed). */
  readonly trainers: number;
  /** The node indices this host runs: every participant of a node lives in its host. */
  readonly indices: readonly number[];
  readonly pollIntervalMs: number;
  readonly meshEventPollingMs: number;
  /** One chain view for the host's nodes (node/chain/shared-reads.ts), or each its own. */
  readonly sharedReadsMs: number | undefined;
  readonly aggregateWaitMs: number;
  /** Training threads of this host (its share of the machine's cores). */
  readonly trainingThreads: number;
  readonly logLevel: string;
}

/** One of a host's nodes, as the driver and the other hosts need it. */
export interface HostedNodeInfo {
  readonly index: number;
  readonly address: Address;
  /** The node's listen address with its peer ID, for dials from other processes. */
  readonly multiaddr: string;
}

/** A participant's state as its host last saw it, for the rounds the driver watches. */
export interface ParticipantState {
  readonly index: number;
  readonly taskId: bigint;
  readonly running: boolean;
  readonly stats: TransferStats;
  readonly rounds: readonly {
    readonly roundId: bigint;
    readonly progress: RoundProgress;
    readonly outcome: RoundOutcome | undefined;
  }[];
}

export interface HostSnapshot {
  readonly participants: readonly ParticipantState[];
  /** CPU the host's process used since it started (every thread), microseconds. */
  readonly cpuMicros: number;
  readonly maxRssKb: number;
  /** The most connections one of its nodes held, at any snapshot so far. */
  readonly peakConnections: number;
}

export type HostCommand =
  | ({ readonly type: "start" } & HostStart)
  /** Each node dials one of `peers` (other hosts' nodes) at random, then every mesh fills its degree. */
  | { readonly type: "link"; readonly peers: readonly string[] }
  /** Per node: its tasks from the root down (root, middle, leaf): a participant each, partials handed upward. */
  | { readonly type: "tasks"; readonly chains: readonly (readonly [number, readonly bigint[]])[] }
  /** The host's participants' state, with these rounds' progress per task. */
  | { readonly type: "snapshot"; readonly watch: readonly (readonly [bigint, readonly bigint[]])[] }
  | {
      readonly type: "model";
      readonly index: number;
      readonly taskId: bigint;
      /** Fetch this model from peers (`ensureModel`), else report the task's current one. */
      readonly ensure?: { readonly ref: Hex; readonly preferred?: Address };
    }
  | { readonly type: "stop" };

export type HostReply =
  | { readonly type: "ready" }
  | {
      readonly type: "started";
      readonly nodes: readonly HostedNodeInfo[];
      /** The spec's initial model (its hash is a task's first modelRef) and parameter count. */
      readonly initialModelRef: Hex;
      readonly parameterCount: number;
    }
  | { readonly type: "linked"; readonly failed: number }
  | { readonly type: "running" }
  | ({ readonly type: "snapshot" } & HostSnapshot)
  | { readonly type: "model"; readonly ref: Hex; readonly params: Float32Array | undefined }
  | { readonly type: "stopped" }
  | { readonly type: "error"; readonly message: string };

export interface HostMessage {
  readonly seq: number;
  readonly command: HostCommand;
}

export interface HostAnswer {
  readonly seq: number;
  readonly reply: HostReply;
}
