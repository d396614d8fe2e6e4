/**
 * The per-round store: what this node has done and holds in each round, in role-sized parts. Each role's
 * functions take only the part they use; the participant keeps one `RoundWork` (all parts) per round and
 * drops rounds older than `ROUNDS_KEPT`.
 */
import type { Hex } from "viem";

import type { LinkRecord } from "./link-answers.ts";
import { PROOF_TRAINERS } from "../../proofs/index.ts";
import type { UpdateCommitment } from "../../proofs/index.ts";
import type { PartialAggregate, RoundTree } from "../hierarchy.ts";
import { dropOldRounds } from "./context.ts";
import type { RoundContext, RoundOutcome, RoundView } from "./context.ts";

/** A trainer's update as received and verified against its commitment. */
export interface ReceivedUpdate {
  readonly encoded: Uint16Array;
  readonly commitment: UpdateCommitment;
  readonly dense: Float32Array;
  readonly bytes: number;
  /** Content hash of the update's bytes (served to watchers under it). */
  readonly sha256: string;
  /** The base model the trainer named (buffered tasks: its staleness counts from there). */
  readonly base?: Hex;
}

/** What answering challenges needs: the trainers' encoded updates, weights and commitments, and the aggregate. */
export interface AggregationRecord {
  readonly encoded: Uint16Array[];
  readonly weights: number[];
  readonly commitments: UpdateCommitment[];
  readonly aggregate: Uint16Array;
  readonly aggregateCommitment: UpdateCommitment;
  /** A chained round's links and posted link tree (link-answers.ts); undefined for a flat round. */
  readonly links?: LinkRecord;
}

export interface TrainerWork {
  trainingStarted: boolean;
  committed: boolean;
  updateBytes?: Uint8Array;
  /** The commitment of `updateBytes` (for disputing a statement that misquotes it). */
  ownCommitment?: UpdateCommitment;
  /** The model `updateBytes` was trained from (named to the aggregator in buffered tasks). */
  baseRef?: Hex;
  delivered: boolean;
  pushing: boolean;
  pushFailures: number;
  /** Wall clock (ms) before which a failed push is not retried (push-backoff.ts). */
  pushAgainAt?: number;
}

export interface AggregatorWork {
  /** The round's aggregator as this node last saw it (a backup takes over a missed aggregation). */
  aggregatorSeen?: string;
  /** How many times the round's aggregator changed since this node first saw it (0 or 1: one backup). */
  takeovers: number;
  /** When this node first saw the round aggregating (the aggregation waits count from here). */
  aggregatingSince?: number;
  /** When the latest input arrived (wall clock, ms): the quorum wait counts from here, so trickling uploads are
   * waited for (an honest trainer on a busy machine delivers late, not never). */
  lastArrivalAt?: number;
  /**
   * The longest time between two consecutive arrivals of this round's updates (ms); the quorum wait is sized from
   * it (`Aggregator.waitMsFor`). The wait before the first arrival is not counted: it is the trainers' polls and
   * dials, not the rate at which their updates come in.
   */
  longestGapMs?: number;
  /** Chain seconds to the aggregation deadline when this node first judged readiness (sets the post margin). */
  windowLeftS?: bigint;
  /** Why and when (performance.now) this node last decided to aggregate, with the chain seconds left and its margin. */
  decision?: {
    reason: string;
    leftS: number;
    marginS: number;
    at: number;
    /** The measured tick gap and transaction time the margin held (post-margin.ts). */
    costs: { tickGapMs: number; txMs: number };
  };
  posted: boolean;
  aggregating: boolean;
  /** Updates received for aggregation (flat aggregator, sub-aggregator of level-1 groups), by operator. */
  received: Map<string, ReceivedUpdate>;
  aggregation?: AggregationRecord;
  /** Chunks whose challenge this node answered or is answering (each is answered once). */
  answering: Set<number>;
  /** When this node, as aggregator, first saw drawn challenges (wall clock, ms): until then a driver waits for it. */
  challengesSeenAt?: number;
  /** Answers being proven or sent right now (how long a proof takes depends on this machine's load). */
  answersInFlight: number;
  proofMs?: number;
  announcedAt?: number;
}

/** Hierarchical rounds: the aggregation tree and the partials of this node's groups. */
export interface HierarchyWork {
  tree?: RoundTree;
  /** Partials received from sub-aggregators (by operator). */
  partials: Map<string, { level: number; partial: PartialAggregate }>;
  /** Partials this node built, by level, and the levels already delivered upward. */
  built: Map<number, PartialAggregate>;
  sentLevels: Set<number>;
  sendingLevels: Set<number>;
  partialRetryAt: Map<number, number>;
  /** Children whose partial failed its spot check this round. */
  refusedChildren: Set<string>;
}

export interface WatcherWork {
  /** Answered chunks whose statement this node found true (or could no longer dispute). */
  statementsChecked: Set<bigint>;
  /** The recomputed aggregate's verdict: the chunks whose posted commitment is wrong (empty: all right). */
  wrongChunks?: number[];
  checkingAggregate: boolean;
  /** Until when (wall clock, ms) a watcher waits for the aggregator's pushes before fetching updates itself. */
  pushesDueBy?: number;
  /** The last recompute lacked an update or the aggregate's bytes (retried each tick; a check that is stuck). */
  aggregateDataMissing?: boolean;
  /** Wrong chunks this node challenged, or found challenged by someone else. */
  challenged: Set<number>;
}

export interface DutyWork {
  /** When each permissionless duty (select, finalize, …) was first seen due. */
  dueSince: Map<string, number>;
  /** Equivocations (signer/kind) reported, by this node or, as its simulation showed, by another. */
  reported: Set<string>;
}

/** Everything one node keeps about one round. */
export type RoundWork = TrainerWork &
  AggregatorWork &
  HierarchyWork &
  WatcherWork &
  DutyWork & {
    /** Whether state from the data directory was reloaded for this round (once, after a restart). */
    restored: boolean;
  };

function emptyWork(): RoundWork {
  return {
    trainingStarted: false,
    committed: false,
    delivered: false,
    pushing: false,
    pushFailures: 0,
    takeovers: 0,
    posted: false,
    aggregating: false,
    received: new Map(),
    answering: new Set(),
    answersInFlight: 0,
    partials: new Map(),
    built: new Map(),
    sentLevels: new Set(),
    sendingLevels: new Set(),
    partialRetryAt: new Map(),
    refusedChildren: new Set(),
    statementsChecked: new Set(),
    checkingAggregate: false,
    challenged: new Set(),
    dueSince: new Map(),
    reported: new Set(),
    restored: false,
  };
}

export class RoundWorkStore {
  private readonly rounds = new Map<bigint, RoundWork>();

  /** The round's work, created on first use; creating one drops the task's rounds beyond `ROUNDS_KEPT` before it. */
  for(roundId: bigint): RoundWork {
    let work = this.rounds.get(roundId);
    if (work === undefined) {
      work = emptyWork();
      this.rounds.set(roundId, work);
      dropOldRounds(this.rounds, roundId);
    }
    return work;
  }

  get(roundId: bigint): RoundWork | undefined {
    return this.rounds.get(roundId);
  }

  /** The rounds kept (the newest `ROUNDS_KEPT` + 1), oldest first. */
  kept(): [bigint, RoundWork][] {
    return [...this.rounds.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Latest state of this node's work in a round, for status and the demo's table. */
  outcome(roundId: bigint): RoundOutcome | undefined {
    const work = this.rounds.get(roundId);
    if (work === undefined) return undefined;
    return {
      roundId,
      role: work.aggregation !== undefined ? "aggregator" : work.committed ? "trainer" : "observer",
      bytesSent: work.updateBytes?.length ?? 0,
      bytesReceived: [...work.received.values()].reduce((sum, r) => sum + r.bytes, 0),
      proofMs: work.proofMs,
      inputs: work.received.size + work.partials.size,
    };
  }
}

/**
 * The round's aggregator changed (its backup took over a missed aggregation): everything that was addressed
 * to the old one starts again for the new one. Trainers deliver again, the aggregation waits count from the
 * takeover, and a hierarchical round's tree (rooted at the aggregator) is planned again. Updates this node
 * received stay: they are checked against on-chain commitments, whoever aggregates.
 */
/** An update arrived at wall-clock `at` (ms): the latest arrival, and the longest gap without one so far. */
export function noteArrival(work: AggregatorWork, at: number): void {
  const since = work.lastArrivalAt;
  if (since !== undefined) work.longestGapMs = Math.max(work.longestGapMs ?? 0, at - since);
  work.lastArrivalAt = at;
}

export function restartForNewAggregator(work: RoundWork, aggregator: string): boolean {
  const seen = work.aggregatorSeen;
  work.aggregatorSeen = aggregator;
  if (seen === undefined || seen === aggregator) return false;
  work.takeovers += 1;
  work.delivered = false;
  work.pushing = false; // a push still hanging on the old aggregator must not hold back the new one
  work.pushFailures = 0;
  work.pushAgainAt = undefined;
  work.aggregatingSince = undefined;
  work.lastArrivalAt = undefined;
  work.longestGapMs = undefined;
  work.windowLeftS = undefined;
  work.announcedAt = undefined;
  work.tree = undefined;
  work.partials.clear();
  work.built.clear();
  work.sentLevels.clear();
  work.sendingLevels.clear();
  work.partialRetryAt.clear();
  work.refusedChildren.clear();
  return true;
}

/** Keeps what answering challenges needs once the aggregate is posted. */
export function rememberAggregation(
  work: AggregatorWork,
  done: {
    encoded: Uint16Array[];
    weights: number[];
    present: readonly ({ commitment: UpdateCommitment } | undefined)[];
    aggregate: Uint16Array;
    aggregateCommitment: UpdateCommitment;
    links?: LinkRecord;
  },
): void {
  work.posted = true;
  work.aggregation = {
    encoded: done.encoded,
    weights: done.weights,
    // A missing trainer makes the round unprovable; its slot is never opened, any commitment fills it.
    commitments: done.present.map((p) => p?.commitment ?? done.aggregateCommitment),
    aggregate: done.aggregate,
    aggregateCommitment: done.aggregateCommitment,
    ...(done.links === undefined ? {} : { links: done.links }),
  };
}

/**
 * The round's aggregation tree (see `roundTreeFromChain`), read once per round. A proven task's round is
 * always flat: only a flat round's aggregator can prove (up to the circuit's fan-in of 8 one proof per chunk,
 * above it by chained link proofs, link-answers.ts).
 */
export async function treeOf(
  ctx: RoundContext,
  work: HierarchyWork,
  roundId: bigint,
  round: RoundView,
): Promise<RoundTree> {
  const maxFanIn = ctx.options.spec.aggregation.maxFanIn;
  work.tree ??= await ctx.chain.readTree(
    roundId,
    round,
    round.proven ? Math.max(maxFanIn, PROOF_TRAINERS, round.trainers.length) : maxFanIn,
  );
  return work.tree;
}
