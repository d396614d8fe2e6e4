/**
 * What every round role shares: the participant's options, the role-facing context (components in the
 * js-libp2p sense, built once by the participant), the round's chain view, the events and outcome types, and
 * the protocol's timing constants. No logic lives here.
 */
import type { Logger } from "pino";
import { z } from "zod";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

import type { AdversarialBehaviour, RoundAdversary } from "../../adversary/index.ts";
import type { Mesh } from "../../p2p/mesh.ts";
import { vainTopic } from "../../p2p/topics.ts";
import type { Dataset } from "../../training/data/dataset.ts";
import type { TrainingPool } from "../../training/pool.ts";
import type { GroupGate } from "../group-gate.ts";
import type { ModelStore } from "../models.ts";
import type { RoundStore } from "../round-store.ts";
import type { TaskSpec } from "../task-spec.ts";
import type { RoundsGateway } from "./rounds-gateway.ts";

/** Gossip topic on which a round's aggregator announces its listen addresses. */
export const AGGREGATOR_TOPIC = vainTopic("aggregator");
/** How often an aggregator re-announces its addresses while it collects (a gossip heartbeat's order). */
export const ANNOUNCE_INTERVAL_MS = 3_000;
export const aggregatorAnnouncementSchema = z.object({
  roundId: z.string().regex(/^\d{1,20}$/),
  addrs: z.array(z.string().max(256)).max(8),
});

/** The tick: fast enough to act within a block or two of a local chain, cheap against a remote RPC. */
export const DEFAULT_POLL_INTERVAL_MS = 300;
/** How long the aggregator waits for missing updates before a quorum suffices (a few trainers' uploads). */
export const DEFAULT_AGGREGATE_WAIT_MS = 20_000;
/** Back-off step between nodes for permissionless duties: longer than a transaction takes to land locally. */
export const DEFAULT_DUTY_BACKOFF_MS = 2_000;
/**
 * How often (ms) and how many times the node that locked a round's selection looks for the seed block before it
 * leaves the selection to its next tick: the seed block is SEED_BLOCK_DELAY = 2 blocks after the lock, under a
 * second on the local chain (500 ms interval blocks, more under traffic), a few seconds on a public one.
 */
export const SELECT_AFTER_LOCK_POLL_MS = 500;
export const SELECT_AFTER_LOCK_POLLS = 40;
/**
 * Most a duty's back-off step grows to (ms) from the node's measured tick gap (keeper.ts): a later member of a round
 * whose first keepers are gone still takes the duty within its position's worth of these (the selection window is
 * one aggregate window after the commit deadline: 600 s at least in the scale bench, where 16 × 30 s = 8 minutes).
 */
export const DUTY_BACKOFF_CAP_MS = 30_000;
/** Failed pushes to a sub-aggregator before a trainer sends its update to the round's aggregator instead. */
export const UPLOAD_ATTEMPTS_BEFORE_FALLBACK = 3;
/** Fewer updates than this are not screened (no meaningful median). */
export const MIN_SCREENED_UPDATES = 3;
/**
 * How many past rounds an aggregator reads to fold other aggregators' posted weights into its trainer trust
 * (aggregation/public-outcomes.ts): 16, the trust records' own memory (TRAINER_TRUST_DEFAULTS.forgetAfterRounds),
 * at most 16 `getRound` reads the first time and one per round after.
 */
export const TRUST_FOLD_ROUNDS = 16n;
/**
 * Share of a round's trainers the aggregation rule is configured to tolerate as Byzantine (rules that take `f`
 * fixed, e.g. Krum): 0.3, the share bench:robust measures and the guarded mean's own default.
 */
export const ASSUMED_BYZANTINE_SHARE = 0.3;
/** Pause before re-sending a partial after a transport failure. */
export const PARTIAL_RETRY_MS = 2_000;
/** Chain seconds before the aggregation deadline at which the aggregator posts whatever it has. */
export const AGGREGATE_MARGIN_SECONDS = 15n;
/** The least an aggregator keeps for its post in a short window (chain s): a transaction on a loaded local chain. */
export const MIN_AGGREGATE_MARGIN_SECONDS = 4n;
/**
 * This node's proving time assumed before it has proven anything: one chunk proof measured 20.5 s on the
 * project's 2-core machine under a load of ~19 (about 3 s unloaded). A proven task whose answer window cannot
 * hold a proof plus its transaction is refused at join (proving-budget.ts); override it with the node's own
 * `bench:zk` figure (`provingEstimateMs`).
 */
export const DEFAULT_PROVING_ESTIMATE_MS = 20_500;
/** Time to simulate, send and mine an answer transaction after its proof: a few blocks on a loaded chain. */
export const ANSWER_TX_MARGIN_MS = 4_000;
/**
 * Rounds of work kept behind the newest one (status and late challenges; older ones are dropped), counted in the
 * task's own rounds: round IDs are shared by every task, and counted in IDs a group task's node (three tasks'
 * rounds interleaved) dropped its parent round's work in the block the next parent round opened, before the
 * status history could read the round's figures.
 */
export const ROUNDS_KEPT = 4n;

/**
 * Drops the oldest rounds of `rounds` (one task's, keyed by round ID) that are older than `newest`, until the newest
 * `ROUNDS_KEPT` + 1 are left.
 */
export function dropOldRounds(rounds: Map<bigint, unknown>, newest: bigint): void {
  const limit = Number(ROUNDS_KEPT) + 1;
  if (rounds.size <= limit) return;
  const older = [...rounds.keys()].filter((id) => id < newest).sort((a, b) => (a < b ? -1 : 1));
  for (const id of older) {
    if (rounds.size <= limit) return;
    rounds.delete(id);
  }
}

export interface ParticipantOptions {
  readonly mesh: Mesh;
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly wallet: WalletClient<Transport, Chain, Account>;
  readonly contracts: { readonly rounds: Address; readonly registry: Address };
  readonly taskId: bigint;
  /** When `taskId` is a group task: its parent, into whose rounds this node commits the partials it led (§7). */
  readonly parentTaskId?: bigint;
  /**
   * A partial this node led was committed into the parent's round `parentRoundId`: `bytes` (the group aggregate as
   * update bytes) go to this node's participant of the parent task (`adoptPartial`), which delivers them there.
   */
  readonly onPartial?: (parentRoundId: bigint, bytes: Uint8Array) => void;
  /**
   * A group task's gate (group-gate.ts): this node trains in a round only where the seed of the round's group
   * epoch draws it (the contract refuses other commits). Without one, every open round is trained (a flat task).
   */
  readonly groupGate?: Pick<GroupGate, "refusal">;
  readonly spec: TaskSpec;
  /**
   * The content address of the task spec as configured (protocol/task-spec-hash.ts), checked against the task's
   * on chain; default the hash of `spec`. A node's local caps (a low-power batch limit, runtime/limits.ts) change
   * how it trains, not which task it runs.
   */
  readonly specHash?: Hex;
  readonly data: Dataset;
  /** Each global model this node holds, as it moves (the operator's personalization, training/personalization.ts). */
  readonly onGlobalModel?: (ref: Hex, params: Float32Array) => void;
  /** This node started or stopped counting as lacking the task's current model (current-model.ts): re-decide the opt-in now. */
  readonly onModelHeldChange?: () => void;
  /** Local training (only `train`: a driven test network wraps it to make a node slow, node/demo/network.ts). */
  readonly pool: Pick<TrainingPool, "train">;
  readonly log: Logger;
  readonly train?: boolean;
  /** How long the aggregator waits for missing updates before aggregating what it has. */
  readonly aggregateWaitMs?: number;
  readonly pollIntervalMs?: number;
  /** Demo and tests only: the adversarial switches (node/adversary). */
  readonly behaviour?: AdversarialBehaviour;
  readonly events?: ParticipantEvents;
  /** Blocks behind the head the node acts on (reorg safety); 0 on local automining chains. */
  readonly confirmations?: number;
  /** Back-off step between nodes for permissionless duties (default 2 s). */
  readonly dutyBackoffMs?: number;
  /** Crash-safe round state; without it a restarted node cannot deliver or prove what it committed to. */
  readonly store?: RoundStore;
  /** Share of the committed weight the aggregator waits for before it drops stragglers (default 0.6). */
  readonly quorum?: number;
  /**
   * Open the task's next round when none is active and it is due (keeper). On in `vain-node start` (config
   * `openRounds`, default true); off by default here so harnesses that open rounds themselves (the demo, tests)
   * keep control of when a round starts.
   */
  readonly openRounds?: boolean;
  /**
   * This node's time to prove one chunk (default DEFAULT_PROVING_ESTIMATE_MS): a proven task whose answer
   * window is shorter than it plus ANSWER_TX_MARGIN_MS is refused at join.
   */
  readonly provingEstimateMs?: number;
  /** How long a transaction's receipt is waited for (ms; default viem's 180 s): rounds-gateway-types.ts. */
  readonly receiptTimeoutMs?: number;
}

/** What a node is doing in a round now (RoundParticipant.progress). */
export interface RoundProgress {
  /** Screening, aggregating or posting the round's updates (its aggregator's work). */
  readonly aggregating: boolean;
  /** As the round's aggregator: proving or sending an answer, or has not seen the challenges yet. */
  readonly answering: boolean;
  /** Has recomputed the posted aggregate (and challenged what was wrong). */
  readonly aggregateChecked: boolean;
  /** Still recomputing the posted aggregate, or challenging what it found wrong. */
  readonly checkingAggregate: boolean;
  /** Answered challenges it has checked (and found true or disputed). */
  readonly statementsChecked: number;
}

export interface RoundOutcome {
  readonly roundId: bigint;
  readonly role: "trainer" | "aggregator" | "observer";
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly proofMs?: number;
  readonly accepted?: boolean;
  /** Updates and partial aggregates this node received for the round (its fan-in), its own included. */
  readonly inputs: number;
}

export interface ParticipantEvents {
  onPhase?(roundId: bigint, phase: string): void;
  onCommitted?(roundId: bigint, samples: number, bytes: number): void;
  onAggregated?(roundId: bigint, accepted: readonly Address[], rejected: readonly Address[]): void;
  onProof?(roundId: bigint, chunk: number, ms: number): void;
  /** A sub-aggregator's partial failed its spot check (hierarchical rounds). */
  onPartialRejected?(roundId: bigint, operator: Address, reason: string): void;
}

/** A round as the chain reports it (`getRound`). */
export type RoundView = Awaited<ReturnType<RoundsGateway["readRound"]>>;

/** Bytes this node moved for rounds (blobs it sent and received), for status and benches. */
export interface TransferStats {
  bytesSent: number;
  bytesReceived: number;
  /** Times this node handed out a round's encoded aggregate, pushed or served to a fetch (#21: flat in N). */
  aggregatesServed: number;
  /**
   * Updates this node fetched as a watcher because the aggregator's push had not come within the grace
   * (aggregate-watcher.ts): each risks a second copy when the push comes after all (#22).
   */
  lateFetches: number;
  /** Encoded aggregates this node downloaded from peers (model-sync.ts `aggregateOf`). */
  aggregatesFetched: number;
  /** Bodies of checked updates this node relayed to peers that did not hold them (update-relay.ts). */
  updatesRelayed: number;
}

/** A node's transfer counters before it moved anything. */
export function emptyTransferStats(): TransferStats {
  return {
    bytesSent: 0,
    bytesReceived: 0,
    aggregatesServed: 0,
    lateFetches: 0,
    aggregatesFetched: 0,
    updatesRelayed: 0,
  };
}

/** What the participant hands each role: its dependencies, built once. */
export interface RoundContext {
  readonly options: ParticipantOptions;
  /** This node's operator address, lower case (the form rounds and trees compare with). */
  readonly me: string;
  /** Parameters of the task's model. */
  readonly paramSize: number;
  readonly chain: RoundsGateway;
  readonly models: ModelStore;
  readonly adversary: RoundAdversary;
  readonly stats: TransferStats;
  readonly log: Logger;
  /** Aborted when the participant stops (a getter: each start makes a new one). */
  readonly signal: AbortSignal;
}
