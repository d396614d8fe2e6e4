/**
 * An aggregator that lost what it received: restarted (its store reloads it), restarted with its data
 * directory wiped, or missing a push that never arrived. Every update it needs is held elsewhere: by its
 * trainer, by the peers the trainer pushed replicas to, and once the aggregate is posted by every watcher it
 * was handed out to (round-data.ts `distribute`). The aggregator pulls each one by its on-chain commitment
 * (the content hashes were lost with its state) and checks it against that commitment, so a peer can only
 * fail to help, never mislead. Posted rounds are then rebuilt exactly from the on-chain weights: without it an
 * aggregator that lost its disk after posting cannot answer a challenge and is slashed (soak, session 6).
 */
import type { PeerId } from "@libp2p/interface";
import type { Address } from "viem";

import { RoundState } from "../../chain/contracts.ts";
import { aggregateFixedPoint, commitEncoded, encodeFixedPoint } from "../../proofs/index.ts";
import type { RoundContext, RoundView } from "./context.ts";
import { buildLinks } from "./link-answers.ts";
import { peerSources, shuffled } from "./peer-sources.ts";
import { rememberAggregation } from "./round-work.ts";
import type { AggregatorWork, RoundWork } from "./round-work.ts";

/** Largest update a node fetches (the mesh's own limit for update blobs). */
export const MAX_UPDATE_BYTES = 64 * 1024 * 1024;
/**
 * Sources asked for one missing update (`UpdateSourceOrder`: its trainer and the aggregator, and admitted peers;
 * replica holders are 2 random peers, and after a post the seeds, the nodes they relayed to and every watcher hold
 * the weighted updates). Enough for a small mesh to find a
 * copy, bounded so a round of dead trainers costs a few "not found" answers each, not one per admitted peer.
 */
const SOURCES_PER_UPDATE = 9;
/** Interval between two pulls of the same round (ms): a rebuild waits for the mesh to re-admit peers. */
const PULL_RETRY_MS = 5_000;
/** Deadline of one fetch (ms): a dead source must not hold a pull past the aggregate or answer window. */
const FETCH_TIMEOUT_MS = 8_000;
/** Updates pulled at once. */
const PULL_PARALLEL = 4;

export interface AggregationRecoveryComponents {
  /** Checks an update against its trainer's commitment and keeps it as received (aggregator.ts). */
  readonly accept: (roundId: bigint, operator: Address, bytes: Uint8Array) => Promise<void>;
  /**
   * Derives and keeps the round's model from a rebuilt aggregate and serves the aggregate (model-sync.ts
   * `adopt`): a rebuild that kept only what answering needs left a 1-trainer round's model with no holder
   * when its watchers were down, and the task stalled (soak 8f).
   */
  readonly adopt: (roundId: bigint, round: RoundView, aggregate: Uint16Array) => Promise<unknown>;
}

/**
 * Where to look for a trainer's update first (`fetchCommittedUpdate`):
 * - "owner": the trainer, the round's aggregator, then admitted peers. For the aggregator's own pull and its
 *   rebuild: before a post only the trainer and its replica holders (2 random peers) have the update.
 * - "holders": HOLDER_TRIES admitted peers in random order, then the trainer and the aggregator. For watchers of a
 *   posted round: the aggregator pushed each screened update to a few seeds that relayed it on (update-relay.ts),
 *   and every watcher that received or fetched one keeps and serves it. Asked owner-first, every watcher the push missed took
 *   its copy from the trainer, and a group's leader served its partial to every node watching the level above:
 *   the busiest node's upload grew 34 → 265 → 708 KB from 8 to 64 nodes (docs/scaling.md, session 19, #21).
 */
export type UpdateSourceOrder = "owner" | "holders";

/**
 * Admitted peers a holders-first fetch asks before the trainer: each miss is one "not found" over a connection
 * the node already holds, and past a few of them the trainer is the quicker source (at 1,000 nodes the pushed
 * holders are a few dozen).
 */
const HOLDER_TRIES = 4;
/**
 * Deadline of one of those tries (ms), shorter than FETCH_TIMEOUT_MS: a peer without the update answers "not
 * found" at once, so only a busy or dead one runs into it, and the trainer is then 4 × 3 s away at most, not
 * 4 × 8 s: a watcher's recompute must leave time for a challenge within the challenge window.
 */
const HOLDER_FETCH_TIMEOUT_MS = 3_000;

/** A peer to ask for an update, and how long to wait for it (ms). */
export interface UpdateSource<P = PeerId> {
  readonly peer: P;
  readonly timeoutMs: number;
}

/**
 * The sources of an update in `order`, from the named peers (the trainer's, then the aggregator's) and the other
 * admitted peers; "holders" asks HOLDER_TRIES of the others, drawn at random, before the named ones.
 */
export function orderUpdateSources<P>(
  named: readonly P[],
  others: readonly P[],
  order: UpdateSourceOrder,
): UpdateSource<P>[] {
  const source = (timeoutMs: number) => (peer: P) => ({ peer, timeoutMs });
  if (order === "owner") return [...named, ...others].map(source(FETCH_TIMEOUT_MS));
  const drawn = shuffled(others);
  return [
    ...drawn.slice(0, HOLDER_TRIES).map(source(HOLDER_FETCH_TIMEOUT_MS)),
    ...[...named, ...drawn.slice(HOLDER_TRIES)].map(source(FETCH_TIMEOUT_MS)),
  ];
}

async function updateSources(
  ctx: RoundContext,
  owner: string,
  round: RoundView,
  order: UpdateSourceOrder,
): Promise<UpdateSource[]> {
  const { named, others } = await peerSources(ctx, [owner, round.aggregator]);
  return orderUpdateSources(named, others, order);
}

/** How a fetched update is named: by its content hash (as pushed and announced) or by its on-chain commitment. */
export type UpdateName = { readonly sha: string } | { readonly root: string };

/**
 * Trainer `index`'s update from the first of its sources (`updateSources` in `order`, at most SOURCES_PER_UPDATE)
 * whose bytes `accept` takes: `accept` checks them against the on-chain commitment and keeps them, and returns
 * undefined (or throws) to refuse them, so a peer can only fail to help, never mislead. Undefined when no
 * source gave an accepted copy. Shared by the aggregator's pull, the watcher's recompute and the rebuild.
 */
export async function fetchCommittedUpdate<T>(
  ctx: RoundContext,
  roundId: bigint,
  round: RoundView,
  index: number,
  name: UpdateName,
  accept: (bytes: Uint8Array) => Promise<T | undefined>,
  order: UpdateSourceOrder = "owner",
): Promise<T | undefined> {
  const sources = (await updateSources(ctx, round.trainers[index]!, round, order)).slice(
    0,
    SOURCES_PER_UPDATE,
  );
  for (const { peer, timeoutMs } of sources) {
    if (ctx.signal.aborted) return undefined;
    try {
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
      const blobs = ctx.options.mesh.blobs;
      const bytes =
        "sha" in name
          ? await blobs.fetch(peer, name.sha, MAX_UPDATE_BYTES, signal)
          : await blobs.fetchCommitted(peer, name.root, MAX_UPDATE_BYTES, signal);
      const accepted = await accept(bytes);
      if (accepted === undefined) continue;
      ctx.stats.bytesReceived += bytes.length;
      return accepted;
    } catch (error) {
      ctx.log.debug({ err: error, roundId, peer: peer.toString() }, "update fetch failed; next source");
    }
  }
  return undefined;
}

export class AggregationRecovery {
  private readonly ctx: RoundContext;
  private readonly components: AggregationRecoveryComponents;
  /** When each round was last pulled for (wall clock, ms). */
  private readonly pulledAt = new Map<bigint, number>();
  /** Rounds whose held updates did not reproduce the posted aggregate (said once). */
  private readonly unreproducible = new Set<bigint>();
  /** Rounds with a pull under way (pulls run beside the tick, which must keep posting and answering). */
  private readonly pulling = new Set<bigint>();

  constructor(ctx: RoundContext, components: AggregationRecoveryComponents) {
    this.ctx = ctx;
    this.components = components;
  }

  /** After a restart: reload the updates we received as the round's aggregator and rebuild a posted round. */
  async restore(roundId: bigint, round: RoundView, work: RoundWork): Promise<void> {
    const store = this.ctx.options.store;
    if (round.aggregator.toLowerCase() !== this.ctx.me) return;
    for (const { operator, bytes } of (await store?.loadReceived(roundId)) ?? [])
      await this.components.accept(roundId, operator, bytes).catch(() => undefined);
    await this.rebuild(roundId, round, work);
  }

  /**
   * A posted round (CHALLENGING) whose aggregation this node, its aggregator, no longer holds: pulls the
   * weighted updates it lacks (retried every PULL_RETRY_MS) and, once it holds them all, rebuilds what answering
   * challenges needs. Nothing is remembered unless it reproduces the posted aggregate (and link root).
   */
  async rebuild(roundId: bigint, round: RoundView, work: RoundWork): Promise<void> {
    // Only proven rounds are challenged (a hierarchical or unproven round has nothing to answer).
    if (round.state !== RoundState.Challenging || work.aggregation !== undefined || !round.proven) return;
    if (round.aggregator.toLowerCase() !== this.ctx.me || this.unreproducible.has(roundId)) return;
    for (const old of this.unreproducible) if (old < roundId) this.unreproducible.delete(old);
    const weights = round.weights.map(Number);
    const missing = round.trainers.flatMap((t, i) =>
      weights[i]! > 0 && !work.received.has(t.toLowerCase()) ? [i] : [],
    );
    if (missing.length > 0) {
      // In the background; the next tick rebuilds once every weighted update is held.
      this.startPull(roundId, round, work, missing);
      return;
    }
    const zero = encodeFixedPoint(new Float32Array(this.ctx.paramSize));
    const present = round.trainers.map((t) => work.received.get(t.toLowerCase()));
    const encoded = present.map((p) => p?.encoded ?? zero);
    const { aggregate } = aggregateFixedPoint(encoded, weights);
    const aggregateCommitment = await commitEncoded(aggregate, "urgent");
    if (aggregateCommitment.root.toLowerCase() !== round.aggregateCommitment.toLowerCase()) {
      this.unreproducible.add(roundId);
      this.ctx.log.warn(
        { roundId },
        "held updates do not reproduce the posted aggregate; cannot answer challenges",
      );
      return;
    }
    const links =
      round.numLinks > 0 ? await buildLinks(roundId, round.numChunks, encoded, weights) : undefined;
    if (links !== undefined && links.tree.root.toLowerCase() !== round.linkRoot.toLowerCase()) {
      this.unreproducible.add(roundId);
      this.ctx.log.warn(
        { roundId },
        "held updates do not reproduce the posted link root; cannot answer challenges",
      );
      return;
    }
    rememberAggregation(work, { encoded, weights, present, aggregate, aggregateCommitment, links });
    await this.components.adopt(roundId, round, aggregate);
    this.ctx.log.info({ roundId }, "rebuilt the posted aggregation: challenges can be answered");
  }

  /**
   * AGGREGATING, flat rounds: once no update arrived for half the wait, pulls the committed updates that were not
   * pushed (a push lost, or this node restarted with its data wiped and the trainers think they delivered).
   */
  pullStragglers(roundId: bigint, round: RoundView, work: AggregatorWork, waitMs: number): void {
    // A buffered task's update names its base in the push (staleness.ts); a pulled one could not.
    if (this.ctx.options.spec.rounds.mode === "fedbuff") return;
    const quietSince = Math.max(work.aggregatingSince ?? Date.now(), work.lastArrivalAt ?? 0);
    if (Date.now() - quietSince < waitMs / 2) return;
    const missing = round.trainers.flatMap((t, i) => (work.received.has(t.toLowerCase()) ? [] : [i]));
    if (missing.length > 0) this.startPull(roundId, round, work, missing);
  }

  /** Starts a pull of `indexes` unless one is under way or one ran less than PULL_RETRY_MS ago. */
  private startPull(
    roundId: bigint,
    round: RoundView,
    work: AggregatorWork,
    indexes: readonly number[],
  ): void {
    if (this.pulling.has(roundId) || Date.now() - (this.pulledAt.get(roundId) ?? 0) < PULL_RETRY_MS) return;
    this.pulling.add(roundId);
    for (const old of this.pulledAt.keys()) if (old < roundId) this.pulledAt.delete(old);
    void this.pull(roundId, round, work, indexes)
      .catch((error: unknown) => this.ctx.log.debug({ err: error, roundId }, "update pull stopped"))
      .finally(() => {
        this.pulling.delete(roundId);
        this.pulledAt.set(roundId, Date.now());
      });
  }

  /** Pulls the updates of the trainers at `indexes` by their commitments, PULL_PARALLEL at a time. */
  private async pull(
    roundId: bigint,
    round: RoundView,
    work: AggregatorWork,
    indexes: readonly number[],
  ): Promise<void> {
    const queue = [...indexes];
    let pulled = 0;
    const next = async (): Promise<void> => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift())
        if (await this.pullOne(roundId, round, work, i)) pulled += 1;
    };
    await Promise.all(Array.from({ length: PULL_PARALLEL }, next));
    if (pulled > 0)
      this.ctx.log.info({ roundId, pulled }, "pulled updates that were not pushed to this aggregator");
  }

  /** One trainer's update from the first source that holds it; whether this node holds it now. */
  private async pullOne(
    roundId: bigint,
    round: RoundView,
    work: AggregatorWork,
    i: number,
  ): Promise<boolean> {
    const trainer = round.trainers[i]!;
    if (work.received.has(trainer.toLowerCase())) return false;
    const root = round.commitments[i]!.slice(2).toLowerCase();
    const pulled = await fetchCommittedUpdate(this.ctx, roundId, round, i, { root }, async (bytes) => {
      await this.components.accept(roundId, trainer, bytes);
      await this.ctx.options.store?.saveReceived(roundId, trainer, bytes);
      return true;
    });
    return pulled === true;
  }
}
