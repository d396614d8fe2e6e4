/**
 * Model sync: a node needs each round's base model to train and the round's new model to go on. A task's
 * initial model is named by its content hash and fetched from peers by it. A round's model is named by the ref
 * the chain derived from its base and its aggregate (next-model.ts), never by a hash its aggregator chose: this
 * node computes it with the task's server step (server-step.ts) from the encoded aggregate whose bytes match the posted
 * commitment (recomputed by a watcher from the updates pushed to it in proven rounds, pushed by the aggregator in
 * unproven ones; else fetched by the announced or posted blob name), and keeps it under that ref. A round's model is never taken from a peer by its name.
 */
import { peerIdFromString } from "@libp2p/peer-id";
import type { PeerId } from "@libp2p/interface";
import type { Address, Hex } from "viem";

import { commitEncoded } from "../../proofs/index.ts";
import type { UpdateCommitment } from "../../proofs/index.ts";
import { bytesToParams } from "../models.ts";
import type { RoundContext, RoundView } from "./context.ts";
import { aggregateFromBytes, modelRefOf, roundOfModelRef } from "./next-model.ts";
import type { RoundData } from "./round-data.ts";
import { serverStateKey, serverStateVectors, serverStep } from "./server-step.ts";
import type { ModelState } from "./server-step.ts";

/**
 * Rounds back a node derives models through before giving up: peers keep a round's aggregate only for the
 * last few rounds (ROUNDS_KEPT), and each step costs a commitment over the whole model.
 */
const MAX_DERIVE_DEPTH = 8;

/** An encoded aggregate whose commitment is the round's posted one. */
export interface CheckedAggregate {
  readonly aggregate: Uint16Array;
  readonly commitment: UpdateCommitment;
}

export class ModelSync {
  private readonly ctx: RoundContext;
  private readonly data: RoundData;
  /** Models being fetched or derived (a tick does not start a second one of the same). */
  private readonly fetching = new Set<string>();

  constructor(ctx: RoundContext, data: RoundData) {
    this.ctx = ctx;
    this.data = data;
    // Peers fetch models, and the round data this node holds (updates, aggregates), by content hash.
    ctx.options.mesh.blobs.serve((sha) => ctx.models.bytesBySha256(sha) ?? data.bytes(sha));
  }

  /**
   * The model named `ref`, from memory, disk, derivation (a round's model) or peers (the initial model, checked
   * by its content hash); undefined while it cannot be had. `preferred` is asked first for blobs.
   */
  async ensureModel(ref: Hex, preferred?: Address, depth = 0): Promise<Float32Array | undefined> {
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
      const producer = await this.producerOf(ref);
      if (producer !== undefined) {
        if (depth >= MAX_DERIVE_DEPTH) return undefined;
        return await this.derive(ref, producer.roundId, producer.round, preferred, depth);
      }
      return await this.fetchByContent(ref, preferred);
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
   * commitment, kept under `ref` (the ref the chain derives from them) with the optimizer's state.
   */
  async advance(ref: Hex, baseRef: Hex, aggregate: Uint16Array, preferred?: Address, depth = 0) {
    const base = await this.withState(baseRef, preferred, depth + 1);
    if (base === undefined) return undefined;
    const next = serverStep(this.ctx.options.spec.server, base, aggregate);
    await this.keep(ref, next);
    return next.params;
  }

  /**
   * The model `ref` with the server optimizer's state after it: none for a task's initial model or a stateless
   * optimizer; else held beside the model, or derived again from the round that made it.
   */
  private async withState(
    ref: Hex,
    preferred: Address | undefined,
    depth: number,
  ): Promise<ModelState | undefined> {
    const params = await this.ensureModel(ref, preferred, depth);
    if (params === undefined) return undefined;
    const vectors = serverStateVectors(this.ctx.options.spec.server);
    if (vectors === 0) return { params, server: [] };
    const producer = await this.producerOf(ref);
    if (producer === undefined) return { params, server: [] };
    const server: Float32Array[] = [];
    for (let k = 0; k < vectors; k++) {
      const key = serverStateKey(ref, k);
      const held =
        this.ctx.models.get(key) ?? (await this.ctx.options.store?.loadModel(key, this.ctx.paramSize));
      if (held === undefined) break;
      server.push(held);
    }
    if (server.length === vectors) return { params, server };
    // The model without its state (e.g. evicted from memory before it was saved): derive both again.
    if (depth >= MAX_DERIVE_DEPTH) return undefined;
    const checked = await this.aggregateOf(producer.roundId, producer.round, preferred);
    if (checked === undefined) return undefined;
    const base = await this.withState(producer.round.baseModelRef, preferred, depth + 1);
    if (base === undefined) return undefined;
    const next = serverStep(this.ctx.options.spec.server, base, checked.aggregate);
    await this.keep(ref, next);
    return next;
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
      const held = this.data.bytes(sha);
      const aggregate = held === undefined ? undefined : await this.checked(held, round);
      if (aggregate !== undefined) return aggregate;
    }
    const peers = await this.peers(preferred ?? round.aggregator);
    for (const sha of names) {
      for (const peer of peers) {
        try {
          const bytes = await this.ctx.options.mesh.blobs.fetch(
            peer,
            sha,
            this.ctx.paramSize * 2,
            this.ctx.signal,
          );
          const aggregate = await this.checked(bytes, round);
          if (aggregate === undefined) continue;
          this.data.keep(roundId, bytes);
          this.ctx.stats.bytesReceived += bytes.length;
          return aggregate;
        } catch {
          // the next peer
        }
      }
    }
    return undefined;
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

  private async derive(
    ref: Hex,
    roundId: bigint,
    round: RoundView,
    preferred: Address | undefined,
    depth: number,
  ): Promise<Float32Array | undefined> {
    const checked = await this.aggregateOf(roundId, round, preferred);
    if (checked === undefined) return undefined;
    return this.advance(ref, round.baseModelRef, checked.aggregate, preferred, depth);
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
    const peers: PeerId[] = [];
    if (preferred !== undefined && preferred.toLowerCase() !== this.ctx.me) {
      const peer = await this.ctx.chain.peerOf(preferred).catch(() => undefined);
      if (peer !== undefined) peers.push(peer);
    }
    for (const admitted of this.ctx.options.mesh.admission.admitted()) {
      const peer = peerIdFromString(admitted.peerId);
      if (!peers.some((p) => p.equals(peer))) peers.push(peer);
    }
    return peers;
  }
}
