/**
 * Model sync: a node needs each round's base model to train and the round's new model to go on. A task's
 * initial model is named by its content hash and fetched from peers by it. A round's model is named by the ref
 * the chain derived from its base and its aggregate (next-model.ts), never by a hash its aggregator chose: this
 * node computes it with the task's server step (server-step.ts) from the encoded aggregate whose bytes match the
 * posted commitment (recomputed by a watcher from the updates pushed to it in proven rounds, pushed by the
 * aggregator to a few seeds in unproven ones; else fetched by the announced or posted blob name from any peer,
 * the aggregator last), and keeps it under that ref. A round's model is never taken from a peer by its name.
 */

import type { PeerId } from "@libp2p/interface";
import type { Logger } from "pino";
import type { Address, Hex } from "viem";

import { commitEncoded } from "../../proofs/index.ts";
import type { Model as ArchitectureModel } from "../../training/architectures.ts";
import { bytesToParams } from "../models.ts";
import type { ModelStore } from "../models.ts";
import type { RoundStore } from "../round-store.ts";
import { DEFAULT_POLL_INTERVAL_MS } from "./context.ts";
import type { RoundContext, RoundView } from "./context.ts";
import { aggregateFromBytes, modelRefOf, roundOfModelRef } from "./next-model.ts";
import { CopyBudget } from "./copy-budget.ts";
import { peerSources, shuffled } from "./peer-sources.ts";
import { aggregateFromUpdates } from "./aggregate-from-updates.ts";
import type { CheckedAggregate } from "./aggregate-from-updates.ts";
import type { RoundData } from "./round-data.ts";
import { aggregateBytesOf } from "./round-data.ts";
import { serverStateKey, serverStateVectors, serverStep } from "./server-step.ts";
import type { ModelState } from "./server-step.ts";

/**
 * Rounds replayed inline, in the caller's tick (deriving this round's model from the held base is one); a
 * longer replay (a node that joined late or lost its disk: a task's whole history, 0.4 s of commitment per
 * round for the 101,770-parameter MLP) runs beside the tick, which keeps up its other duties meanwhile.
 */
const INLINE_REPLAY_ROUNDS = 2;
/** Wait before a failed background replay is tried again (ms): its missing aggregate may be served later. */
const REPLAY_RETRY_MS = 10_000;
/**
 * Wait before a round's aggregate is rebuilt from its updates again after a try failed (ms): each try fetches
 * the round's weighted updates and commits to each, and the tick asks every second.
 */
const REBUILD_RETRY_MS = 10_000;
/** How long after a failed background replay the node still counts as syncing (ms): its retry is due. */
const SYNC_FAILED_HOLD_MS = 60_000;
/** Replayed models also kept on disk every this many rounds, so a replay cut short resumes from near there. */
const REPLAY_CHECKPOINT_ROUNDS = 64;
/**
 * How long a node looks for an unproven round's aggregate among its peers before it asks the aggregator: the
 * aggregator pushes it to a few seeds right after posting (round-data.ts `distribute`), and a node that saw
 * the post before them, or whose mesh neighbours (degree 6-8) get it a hop or two later, would otherwise fetch
 * it from the aggregator (one fetch per such node, growing with N). At least 5 s, and AGGREGATOR_FETCH_GRACE_TICKS
 * of the node's ticks (each tick asks every neighbour once: one hop of the spread). It also delays a rebuild from
 * the updates when the aggregator withholds the aggregate.
 */
const AGGREGATOR_FETCH_GRACE_MS = 5_000;
const AGGREGATOR_FETCH_GRACE_TICKS = 4;
/** Deadline of one aggregate fetch from one peer (ms): a peer that stalls must not hold up the next. */
const AGGREGATE_FETCH_TIMEOUT_MS = 15_000;

export type { CheckedAggregate } from "./aggregate-from-updates.ts";

/** A round that derived a model: the model's ref names it in its low 64 bits (next-model.ts). */
interface Producer {
  readonly roundId: bigint;
  readonly round: RoundView;
}

/** The rounds whose aggregates lead from a model this node can start from (`anchor`) to the one asked for. */
interface ReplayPath {
  readonly anchor: Hex;
  /** Oldest first. */
  readonly rounds: readonly Producer[];
}

/**
 * Keeps a task's initial model in `models` and returns its ref. A model made from the seed is kept at once; an
 * imported model's weights are named by content hash and read from disk if this node has them (the importing
 * node's store), else fetched from peers and checked against the ref like any model (ModelSync).
 */
export function keepInitialModel(
  model: Pick<ArchitectureModel, "initialRef" | "init" | "layout">,
  initSeed: number,
  models: ModelStore,
  store: RoundStore | undefined,
  log: Logger,
): Hex {
  const ref = model.initialRef;
  if (ref === undefined) return models.put(model.init(initSeed));
  void store
    ?.loadModel(ref, model.layout.size)
    .then((params) => params !== undefined && models.put(params, ref))
    .catch((error: unknown) => log.warn({ err: error }, "initial model not readable from disk"));
  return ref;
}

export class ModelSync {
  private readonly ctx: RoundContext;
  private readonly data: RoundData;
  /** Models being fetched or derived (a tick does not start a second one of the same). */
  private readonly fetching = new Set<string>();
  /**
   * The one background replay at a time (a second, for the next round's model, would walk the same history:
   * the next tick after it ends derives that one inline), and when the last one failed (wall clock, ms).
   */
  private replaying = false;
  private replayFailedAt = 0;
  /** When a round's aggregate may next be rebuilt from its updates (wall clock, ms), after a failed try. */
  private readonly rebuildAfter = new Map<bigint, number>();
  /** When this node first found none of its peers but the aggregator serving a round's aggregate (ms). */
  private readonly missedSince = new Map<bigint, number>();
  /** Copies of each aggregate this node handed out lately (a holder's budget, copy-budget.ts). */
  private readonly copies = new CopyBudget();
  /** Why the last round aggregate this node looked for was not had (for the sync's warning: never silent). */
  private lastMiss: string | undefined;

  constructor(ctx: RoundContext, data: RoundData) {
    this.ctx = ctx;
    this.data = data;
  }

  /**
   * Bytes peers fetch by content hash: models, the round data this node holds (updates, aggregates), and the task's
   * aggregate history (to replay it); the mesh's round router (round-mesh.ts) asks each task's in turn.
   * What it serves counts as its round upload, as its pushes do (the busiest node's upload is #21's measure).
   * A holder hands out each aggregate at most AGGREGATE_COPIES_PER_HOLDER times a window (copy-budget.ts): a
   * refused asker tries its next peer. Not the round's aggregator: it is the askers' last resort after a grace.
   */
  async serve(sha: string): Promise<Uint8Array | undefined> {
    const { ctx, data } = this;
    const held = ctx.models.bytesBySha256(sha) ?? data.bytes(sha);
    const bytes = held ?? (await ctx.options.store?.loadAggregate(sha));
    if (bytes === undefined) return undefined;
    const aggregate = held === undefined || data.isAggregate(sha);
    if (aggregate && !data.isOwnAggregate(sha) && !this.copies.take(sha)) return undefined;
    ctx.stats.bytesSent += bytes.length;
    if (aggregate) ctx.stats.aggregatesServed += 1;
    return bytes;
  }

  /**
   * The model named `ref`, from memory, disk, derivation (a round's model: replayed from the newest model this
   * node holds through the rounds' checked aggregates) or peers (the initial model, checked by its content
   * hash); undefined while it cannot be had. `preferred` is asked first for blobs.
   */
  async ensureModel(ref: Hex, preferred?: Address): Promise<Float32Array | undefined> {
    const { models, options, paramSize } = this.ctx;
    const have = models.get(ref);
    if (have !== undefined || /^0x0{64}$/.test(ref) || this.fetching.has(ref)) return have;
    this.fetching.add(ref);
    try {
      const stored = await options.store?.loadModel(ref, paramSize);
      if (stored !== undefined) {
        models.put(stored, ref);
        return stored;
      }
      // The history is being replayed: walking it again (a chain read per round) would only find that out.
      if (this.replaying) return undefined;
      const path = await this.replayPath(ref);
      if (path === undefined) return await this.fetchByContent(ref, preferred);
      return (await this.derive(path, preferred))?.params;
    } finally {
      this.fetching.delete(ref);
    }
  }

  /**
   * A round's model from an aggregate this node already checked against the posted commitment (the aggregator's
   * own, or a watcher's recomputation that matched): kept under the ref the chain derived.
   */
  async adopt(roundId: bigint, round: RoundView, aggregate: Uint16Array): Promise<Hex | undefined> {
    const ref = modelRefOf(round.baseModelRef, round.aggregateCommitment, roundId);
    return (await this.advance(ref, round.baseModelRef, aggregate)) === undefined ? undefined : ref;
  }

  /**
   * The task's server step (server-step.ts) from the model `baseRef` and an aggregate checked against its
   * commitment, kept under `ref` (the ref the chain derives from them) with the optimizer's state; the aggregate
   * joins the history this node serves.
   */
  async advance(ref: Hex, baseRef: Hex, aggregate: Uint16Array, preferred?: Address) {
    // Served even while the base is missing: the aggregate is checked, and peers may need it sooner.
    await this.keepAggregate(roundOfModelRef(ref), aggregate);
    const base = await this.stateOf(baseRef, preferred);
    if (base === undefined) return undefined;
    const next = serverStep(this.ctx.options.spec.server, base, aggregate);
    await this.keep(ref, next);
    return next.params;
  }

  /** The model `ref` with the server optimizer's state after it, held or replayed (inline). */
  private async stateOf(ref: Hex, preferred: Address | undefined): Promise<ModelState | undefined> {
    const held = await this.heldState(ref);
    if (held !== undefined || this.replaying) return held;
    const path = await this.replayPath(ref);
    if (path !== undefined) return this.derive(path, preferred);
    // No round made `ref`: the task's initial model, which has no server state.
    const params = await this.fetchByContent(ref, preferred);
    return params === undefined ? undefined : { params, server: [] };
  }

  /**
   * The model `ref` with its server state if this node holds both (memory or disk): a task's initial model
   * and a stateless optimizer's models have none.
   */
  private async heldState(ref: Hex): Promise<ModelState | undefined> {
    const { models, options, paramSize } = this.ctx;
    const params = models.get(ref) ?? (await options.store?.loadModel(ref, paramSize));
    if (params === undefined) return undefined;
    models.put(params, ref);
    const vectors = serverStateVectors(options.spec.server);
    if (vectors === 0 || (await this.producerOf(ref)) === undefined) return { params, server: [] };
    const server: Float32Array[] = [];
    for (let k = 0; k < vectors; k++) {
      const key = serverStateKey(ref, k);
      const vector = models.get(key) ?? (await options.store?.loadModel(key, paramSize));
      if (vector === undefined) return undefined;
      server.push(vector);
    }
    return { params, server };
  }

  /**
   * Walks back from `ref` through the rounds that derived each model to the newest one this node holds with its
   * state, or to the task's initial model; undefined when `ref` is not a posted round's model.
   */
  private async replayPath(ref: Hex): Promise<ReplayPath | undefined> {
    const rounds: Producer[] = [];
    let current = ref;
    for (;;) {
      const producer = await this.producerOf(current);
      if (producer === undefined) break;
      rounds.push(producer);
      current = producer.round.baseModelRef;
      if ((await this.heldState(current)) !== undefined) break;
    }
    return rounds.length === 0 ? undefined : { anchor: current, rounds: rounds.reverse() };
  }

  /**
   * Derives each model of `path` in turn from its round's checked aggregate (held, fetched by its blob name, or
   * rebuilt from the round's committed updates); the last one, and every REPLAY_CHECKPOINT_ROUNDS-th, is kept.
   */
  private async replay(path: ReplayPath, preferred: Address | undefined): Promise<ModelState | undefined> {
    let state = await this.heldState(path.anchor);
    if (state === undefined) {
      // The task's initial model, from peers (a held round model ends the walk only with its state).
      const params = await this.fetchByContent(path.anchor, preferred);
      if (params === undefined) return undefined;
      state = { params, server: [] };
    }
    for (const [i, { roundId, round }] of path.rounds.entries()) {
      const checked = await this.aggregateOf(roundId, round, preferred);
      if (checked === undefined) {
        this.ctx.log.debug({ roundId }, "a round's aggregate is not available yet; cannot derive its model");
        return undefined;
      }
      state = serverStep(this.ctx.options.spec.server, state, checked.aggregate);
      const last = i === path.rounds.length - 1;
      if (last || (i + 1) % REPLAY_CHECKPOINT_ROUNDS === 0) await this.keep(round.modelRef, state);
    }
    return state;
  }

  /** A short path replayed now; a long one started beside the tick (undefined until it ends). */
  private async derive(path: ReplayPath, preferred: Address | undefined): Promise<ModelState | undefined> {
    if (path.rounds.length <= INLINE_REPLAY_ROUNDS) return this.replay(path, preferred);
    if (!this.replaying && Date.now() - this.replayFailedAt >= REPLAY_RETRY_MS)
      this.replayInBackground(path, preferred);
    return undefined;
  }

  /**
   * Whether this node is replaying the task's history (a long replay runs, or one failed less than a minute
   * ago and is retried): it holds no current model to train or aggregate from yet.
   */
  syncing(): boolean {
    return this.replaying || Date.now() - this.replayFailedAt < SYNC_FAILED_HOLD_MS;
  }

  /** A long replay beside the tick; the model is in memory and on disk when it ends. */
  private replayInBackground(path: ReplayPath, preferred: Address | undefined): void {
    this.replaying = true;
    const from = path.rounds[0]!.roundId;
    const to = path.rounds[path.rounds.length - 1]!.roundId;
    this.ctx.log.info(
      { fromRound: from, toRound: to, rounds: path.rounds.length },
      "syncing the task's model: replaying its rounds' aggregates",
    );
    void this.replay(path, preferred)
      .then((state) => {
        if (state === undefined) {
          this.replayFailedAt = Date.now();
          this.ctx.log.warn(
            { fromRound: from, toRound: to, why: this.lastMiss },
            "model sync stopped: a round's aggregate is not served by any peer yet; retrying",
          );
          return;
        }
        this.replayFailedAt = 0;
        this.ctx.log.info({ round: to, rounds: path.rounds.length }, "model synced");
      })
      .catch((error: unknown) => {
        this.replayFailedAt = Date.now();
        this.ctx.log.warn({ err: error }, "model sync failed; retrying");
      })
      .finally(() => (this.replaying = false));
  }

  /** The encoded aggregate of a posted round whose bytes match its commitment, from what we hold or from peers. */
  async aggregateOf(
    roundId: bigint,
    round: RoundView,
    preferred?: Address,
  ): Promise<CheckedAggregate | undefined> {
    const names = new Set<string>();
    const announced = this.data.aggregateSha(roundId, round.aggregator);
    if (announced !== undefined) names.add(announced);
    const posted = await this.ctx.chain.aggregateData(roundId).catch(() => undefined);
    if (posted !== undefined) names.add(posted);
    for (const sha of names) {
      const held = this.data.bytes(sha) ?? (await this.ctx.options.store?.loadAggregate(sha));
      const aggregate = held === undefined ? undefined : await this.checked(held, round);
      if (aggregate !== undefined) return aggregate;
    }
    const due = this.aggregatorDue(roundId, round);
    const peers = await this.aggregateSources(round, preferred, due);
    const failures: string[] = [];
    for (const sha of names) {
      for (const peer of peers) {
        try {
          const signal = AbortSignal.any([this.ctx.signal, AbortSignal.timeout(AGGREGATE_FETCH_TIMEOUT_MS)]);
          const bytes = await this.ctx.options.mesh.blobs.fetch(peer, sha, this.ctx.paramSize * 2, signal);
          const aggregate = await this.checked(bytes, round);
          if (aggregate === undefined) {
            failures.push(`${peer.toString().slice(-8)}: bytes do not match the commitment`);
            continue;
          }
          this.ctx.stats.bytesReceived += bytes.length;
          // Counted and logged: in a proven round every watcher derives the model from its own recompute, so a
          // download here is a second copy of that round's bytes unless this node missed the recompute (#22).
          this.ctx.stats.aggregatesFetched += 1;
          this.ctx.log.info(
            { roundId, bytes: bytes.length, proven: round.proven },
            "fetched a round's aggregate",
          );
          await this.keepAggregate(roundId, aggregate.aggregate);
          this.lastMiss = undefined;
          return aggregate;
        } catch (error) {
          // the next peer
          failures.push(
            `${peer.toString().slice(-8)}: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
    }
    this.lastMiss = missReason(roundId, names.size, peers.length, due, failures);
    if (!due) {
      // Its seeds are spreading it: the aggregator (and a rebuild) only after the grace.
      if (this.missedSince.size >= 64) this.missedSince.clear();
      if (!this.missedSince.has(roundId)) this.missedSince.set(roundId, Date.now());
      return undefined;
    }
    // Nobody serves it: the aggregate follows from the round's committed updates, if they can still be had.
    if ((this.rebuildAfter.get(roundId) ?? 0) > Date.now()) return undefined;
    const rebuilt = await aggregateFromUpdates(this.ctx, this.data, roundId, round);
    if (rebuilt === undefined) {
      if (this.rebuildAfter.size >= 64) this.rebuildAfter.clear();
      this.rebuildAfter.set(roundId, Date.now() + REBUILD_RETRY_MS);
      return undefined;
    }
    await this.keepAggregate(roundId, rebuilt.aggregate);
    return rebuilt;
  }

  /**
   * Whether a round's aggregate may be asked of its aggregator now: at once in an old round (a replay) or a
   * proven one (whose watchers adopt it from their recompute, and the aggregator pushes it to nobody), and in a
   * recent unproven round once its grace (AGGREGATOR_FETCH_GRACE_MS) passed since the node first missed it among its peers.
   */
  private aggregatorDue(roundId: bigint, round: RoundView): boolean {
    if (round.proven || roundId + 1n < this.data.activeRoundId) return true;
    const since = this.missedSince.get(roundId);
    const tickMs = this.ctx.options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    const graceMs = Math.max(AGGREGATOR_FETCH_GRACE_MS, AGGREGATOR_FETCH_GRACE_TICKS * tickMs);
    return since !== undefined && Date.now() - since >= graceMs;
  }

  /**
   * Where to fetch a round's aggregate: every admitted peer but its aggregator, in random order, so each node
   * that holds it serves a few others and the aggregator's upload stays flat in N (#21); then the aggregator
   * and `preferred`, last, when `aggregatorDue`. Whoever serves it, the bytes are checked against the commitment.
   */
  private async aggregateSources(
    round: RoundView,
    preferred: Address | undefined,
    aggregatorDue: boolean,
  ): Promise<PeerId[]> {
    const { named, others } = await peerSources(this.ctx, [round.aggregator, preferred]);
    const drawn = shuffled(others);
    return aggregatorDue ? [...drawn, ...named] : drawn;
  }

  /** Keeps a checked aggregate to serve: in memory with its round's data, and on disk as the task's history. */
  private async keepAggregate(roundId: bigint | undefined, aggregate: Uint16Array): Promise<void> {
    if (this.ctx.adversary.withholdsAggregate()) return;
    const bytes = aggregateBytesOf(aggregate);
    if (roundId !== undefined) this.data.keepAggregate(roundId, bytes);
    await this.ctx.options.store?.saveAggregate(bytes);
  }

  /** The round that derived `ref` (named in its low 64 bits), if `ref` is that round's posted model. */
  private async producerOf(ref: Hex): Promise<{ roundId: bigint; round: RoundView } | undefined> {
    const roundId = roundOfModelRef(ref);
    if (roundId === undefined) return undefined;
    const round = await this.ctx.chain.readRound(roundId).catch(() => undefined);
    if (round === undefined || !round.posted || round.modelRef.toLowerCase() !== ref.toLowerCase())
      return undefined;
    return { roundId, round };
  }

  /** Keeps a model and its server state (state first: a model on disk without its state is derived again). */
  private async keep(ref: Hex, model: ModelState): Promise<void> {
    const { models, options } = this.ctx;
    for (const [k, vector] of model.server.entries()) {
      const key = serverStateKey(ref, k);
      models.put(vector, key);
      await options.store?.saveModel(vector, key);
    }
    models.put(model.params, ref);
    await options.store?.saveModel(model.params, ref);
  }

  /** `bytes` as an encoded aggregate, if they are one and match the round's posted commitment. */
  private async checked(bytes: Uint8Array, round: RoundView): Promise<CheckedAggregate | undefined> {
    const aggregate = aggregateFromBytes(bytes, this.ctx.paramSize);
    if (aggregate === undefined) return undefined;
    const commitment = await commitEncoded(aggregate);
    return commitment.root.toLowerCase() === round.aggregateCommitment.toLowerCase()
      ? { aggregate, commitment }
      : undefined;
  }

  /** A task's initial model from peers, checked against its content hash. */
  private async fetchByContent(ref: Hex, preferred?: Address): Promise<Float32Array | undefined> {
    const { models, options, paramSize } = this.ctx;
    for (const peer of await this.peers(preferred)) {
      try {
        const bytes = await options.mesh.blobs.fetch(peer, ref.slice(2), paramSize * 4, this.ctx.signal);
        const params = bytesToParams(bytes, paramSize);
        models.put(params);
        await options.store?.saveModel(params);
        this.ctx.stats.bytesReceived += bytes.length;
        return params;
      } catch {
        // try the next peer
      }
    }
    return undefined;
  }

  /** `preferred` first (unless it is us), then every admitted peer. */
  private async peers(preferred?: Address): Promise<PeerId[]> {
    const { named, others } = await peerSources(this.ctx, [preferred]);
    return [...named, ...others];
  }
}

/** Failures named in a miss's reason, at most (each peer asked adds one). */
const MISS_REASONS_SHOWN = 4;

/**
 * Why a round's aggregate was not had, for the sync's warning (session 16's soak logged "not served by any peer
 * yet" for 80 minutes without a word on why): no blob name known, no peer to ask, or what each peer answered.
 */
function missReason(roundId: bigint, names: number, peers: number, due: boolean, failures: string[]): string {
  if (names === 0)
    return `round ${roundId}: no blob name for its aggregate (its announcement missed, the chain's record unread)`;
  if (peers === 0)
    return `round ${roundId}: no admitted peer to ask${due ? " and its aggregator unbound" : " (the aggregator is asked after a grace)"}`;
  const shown = failures.slice(0, MISS_REASONS_SHOWN).join("; ");
  const more = failures.length > MISS_REASONS_SHOWN ? `; ${failures.length - MISS_REASONS_SHOWN} more` : "";
  return `round ${roundId}: ${peers} peer(s) asked, none served it (${shown}${more})`;
}
