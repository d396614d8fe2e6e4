/**
 * Data availability of a round (docs/protocol.md §5): every update that enters an aggregate can be fetched
 * by anyone who wants to recompute it. A trainer announces its update's content hash with its signed
 * `Commitment` and pushes a replica to `REPLICAS_PER_UPDATE` random admitted peers; the aggregator announces
 * its signed `Aggregate` (with the content hashes of the encoded aggregate and of every update it used)
 * before posting, and serves all of them over the blob protocol. Announcements are gossip; the bytes are
 * checked against the on-chain commitments by whoever fetches them, so a wrong announcement costs only a
 * failed fetch. Every announced signature goes into the round's `SignedLedger` (equivocation evidence).
 */
import { randomInt } from "node:crypto";

import { peerIdFromString } from "@libp2p/peer-id";
import type { Address, Hex } from "viem";

import { encodeSparseCodes } from "../../compression/aggregate-wire.ts";
import { vainTopic } from "../../p2p/topics.ts";
import { sha256 } from "../../p2p/blobs.ts";
import { MeshError } from "../../p2p/errors.ts";
import { VALUE_OFFSET } from "../../proofs/constants.ts";
import { ROUNDS_KEPT } from "./context.ts";
import { aggregateFromBytes } from "./next-model.ts";
import type { RoundContext } from "./context.ts";
import { SignedLedger, commitmentPair, signRoundMessage, signerOf } from "./signatures.ts";
import type { Equivocation, RoundsDomain, SignedValue } from "./signatures.ts";
import { REPLICAS_PER_UPDATE, announcementSchema } from "./round-announcement.ts";
import type { Announcement } from "./round-announcement.ts";
import { UpdateRelay } from "./update-relay.ts";

export { REPLICAS_PER_UPDATE } from "./round-announcement.ts";

/** Gossip topic of update and aggregate announcements. */
export const ROUND_DATA_TOPIC = vainTopic("round-data");
/**
 * Random admitted peers an aggregator pushes its encoded aggregate to after posting: the seeds. Every other
 * node fetches it from admitted peers in random order, the aggregator last (model-sync.ts `aggregateOf`), so the
 * nodes that hold it serve it and the aggregator's upload stays flat in N (pushing it to every peer cost the
 * aggregator 70.8 / 200.0 / 567.0 KB at 16 / 32 / 64 nodes, session 9). Three: one seed lost still leaves two.
 */
export const AGGREGATE_SEED_PEERS = 3;

interface RoundEntry {
  readonly ledger: SignedLedger;
  /** Content hash of each trainer's update, from its own announcement (by lower-case operator). */
  readonly updateShas: Map<string, string>;
  /** What each announcing aggregator said (by lower-case operator). */
  readonly aggregates: Map<string, { sha256: string; updates: readonly string[] }>;
  /** Bytes this node serves for the round, by content hash. */
  readonly blobs: Map<string, Uint8Array>;
  /** Which of `blobs` are encoded aggregates (the aggregator's, pushed to us, or checked by us). */
  readonly aggregateShas: Set<string>;
  /** Peers each update's trainer said it pushed replicas to (by the update's content hash). */
  readonly replicaHolders: Map<string, ReadonlySet<string>>;
  /** Content hash of each update this node holds and checked, by its on-chain commitment root (lower case, no 0x). */
  readonly committed: Map<string, string>;
}

export class RoundData {
  private readonly ctx: RoundContext;
  private readonly rounds = new Map<bigint, RoundEntry>();
  private readonly domain: RoundsDomain;
  private activeRound = 0n;
  /** Content hashes of fetched updates being checked against their commitment now (`whileChecking`). */
  private readonly checking = new Map<string, number>();
  /** How a proven round's updates spread: the aggregator's seeds, and this node's relays of what it checked. */
  readonly relay: UpdateRelay;

  constructor(ctx: RoundContext) {
    this.ctx = ctx;
    this.relay = new UpdateRelay(ctx, this);
    const { options } = ctx;
    this.domain = { chainId: options.publicClient.chain.id, verifyingContract: options.contracts.rounds };
    options.mesh.gossip.subscribe(ROUND_DATA_TOPIC, announcementSchema, async (message) => {
      try {
        // Only the author's own signatures count (the operator its peer ID is bound to): the ledger stays
        // bounded by the staked operators, and nobody can file values under another's name.
        const standing = await options.mesh.oracle.standing(message.from);
        if (standing.active) await this.receive(message.body, standing.operator);
      } catch (error) {
        ctx.log.debug({ err: error }, "round-data announcement ignored");
      }
    });
  }

  /**
   * The task's active round: announcements are kept for it, the next one and the `ROUNDS_KEPT` before it
   * (a far-future round number cannot evict the current rounds).
   */
  setActiveRound(roundId: bigint): void {
    this.activeRound = roundId;
  }

  /** The task's active round, as last set. */
  get activeRoundId(): bigint {
    return this.activeRound;
  }

  /** Bytes of this round data with content hash `hash`, if this node holds them. */
  bytes(hash: string): Uint8Array | undefined {
    for (const entry of this.rounds.values()) {
      const found = entry.blobs.get(hash);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** Keeps `bytes` to serve for `roundId`; returns their content hash. */
  keep(roundId: bigint, bytes: Uint8Array): string {
    const hash = sha256(bytes);
    this.entry(roundId).blobs.set(hash, bytes);
    return hash;
  }

  /** Keeps an encoded aggregate's bytes to serve for `roundId`; returns their content hash. */
  keepAggregate(roundId: bigint, bytes: Uint8Array): string {
    const hash = this.keep(roundId, bytes);
    this.entry(roundId).aggregateShas.add(hash);
    return hash;
  }

  /** Whether `hash` names an encoded aggregate this node holds for a round. */
  isAggregate(hash: string): boolean {
    for (const entry of this.rounds.values()) if (entry.aggregateShas.has(hash)) return true;
    return false;
  }

  /** Whether `hash` names an aggregate this node announced as a round's aggregator. */
  isOwnAggregate(hash: string): boolean {
    for (const entry of this.rounds.values())
      if (entry.aggregates.get(this.ctx.me)?.sha256 === hash) return true;
    return false;
  }

  /**
   * Keeps an update checked against its on-chain commitment `root` to serve for `roundId`, by content hash and
   * by commitment; returns its content hash.
   */
  keepUpdate(roundId: bigint, root: Hex, bytes: Uint8Array): string {
    const hash = this.keep(roundId, bytes);
    this.entry(roundId).committed.set(root.slice(2).toLowerCase(), hash);
    return hash;
  }

  /**
   * Whether a pushed blob adds nothing (blobs.ts `HeldCheck`: declined before its body): a replica of an update
   * held for that round and checked (a watcher fetched it when the push was late), or an aggregate held for it.
   * Never an update pushed for aggregating: its handler must run even when the bytes are held.
   */
  holdsPushed(
    kind: string,
    hash: string,
    meta: Readonly<Record<string, string | number | boolean>>,
  ): boolean {
    const roundText = meta["round"];
    if (typeof roundText !== "string" || !/^\d{1,20}$/.test(roundText)) return false;
    // Fetched, the same bytes (same sha256) as the push, and being checked: the push's copy would check the same.
    if (kind === "update" && meta["replica"] === true && this.checking.has(hash)) return true;
    const entry = this.rounds.get(BigInt(roundText));
    if (entry === undefined || !entry.blobs.has(hash)) return false;
    if (kind === "aggregate") return entry.aggregateShas.has(hash);
    if (kind !== "update" || meta["replica"] !== true) return false;
    for (const checked of entry.committed.values()) if (checked === hash) return true;
    return false;
  }

  /** Runs `check` on fetched update bytes named `hash`; meanwhile a pushed replica of them is declined as held. */
  async whileChecking<T>(hash: string, check: () => Promise<T>): Promise<T> {
    this.checking.set(hash, (this.checking.get(hash) ?? 0) + 1);
    try {
      return await check();
    } finally {
      const left = (this.checking.get(hash) ?? 1) - 1;
      if (left > 0) this.checking.set(hash, left);
      else this.checking.delete(hash);
    }
  }

  /**
   * Bytes of the update committed as `root` (lower-case hex, no 0x), if this node holds it: served by commitment
   * (round-mesh.ts), so an aggregator that lost its state (and the content hashes with it) pulls the updates back.
   */
  committedBytes(root: string): Uint8Array | undefined {
    for (const entry of this.rounds.values()) {
      const hash = entry.committed.get(root);
      if (hash !== undefined) return entry.blobs.get(hash);
    }
    return undefined;
  }

  /** The content hash a trainer announced for its update, or the one the aggregator listed for it. */
  updateSha(roundId: bigint, trainer: Address, index: number, aggregator: Address): string | undefined {
    const entry = this.rounds.get(roundId);
    if (entry === undefined) return undefined;
    const own = entry.updateShas.get(trainer.toLowerCase());
    if (own !== undefined) return own;
    const listed = entry.aggregates.get(aggregator.toLowerCase())?.updates[index];
    return listed === undefined || listed === "" ? undefined : listed;
  }

  /**
   * The content hashes `aggregator` announced for the updates it screened, by trainer index ("" for a trainer whose
   * update it did not have); undefined without its announcement.
   */
  screenedShas(roundId: bigint, aggregator: Address): readonly string[] | undefined {
    return this.rounds.get(roundId)?.aggregates.get(aggregator.toLowerCase())?.updates;
  }

  /** The content hash of the encoded aggregate `aggregator` announced. */
  aggregateSha(roundId: bigint, aggregator: Address): string | undefined {
    return this.rounds.get(roundId)?.aggregates.get(aggregator.toLowerCase())?.sha256;
  }

  /** Every signed value held for `roundId`, with its signer. */
  signedValues(roundId: bigint): { signer: string; value: SignedValue }[] {
    return this.rounds.get(roundId)?.ledger.signed() ?? [];
  }

  /** Pairs of conflicting signed values seen in `roundId`. */
  equivocations(roundId: bigint): Equivocation[] {
    return this.rounds.get(roundId)?.ledger.equivocations() ?? [];
  }

  /**
   * Trainer, after its commit: keeps and announces its update with the signed `Commitment`, and pushes
   * replicas to random admitted peers (in the background).
   */
  async announceUpdate(
    roundId: bigint,
    commitment: Hex,
    sampleCount: bigint,
    bytes: Uint8Array,
  ): Promise<void> {
    const hash = this.keepUpdate(roundId, commitment, bytes);
    const signed = await this.sign("Commitment", roundId, commitment, sampleCount);
    const peers = this.ctx.options.mesh.admission.admitted().map((p) => p.peerId);
    const holders: string[] = [];
    while (holders.length < REPLICAS_PER_UPDATE && peers.length > 0)
      holders.push(...peers.splice(randomInt(peers.length), 1));
    await this.publish({
      kind: "update",
      roundId: roundId.toString(),
      commitment,
      sampleCount: sampleCount.toString(),
      sha256: hash,
      replicas: holders,
      signature: signed.signature,
    });
    // The demo's equivocating trainer also signs a second, different commitment for the same round.
    const other = this.ctx.adversary.equivocation(commitment);
    if (other !== undefined) {
      const forged = await this.sign("Commitment", roundId, other, sampleCount);
      await this.publish({
        kind: "update",
        roundId: roundId.toString(),
        commitment: other,
        sampleCount: sampleCount.toString(),
        sha256: hash,
        signature: forged.signature,
      });
    }
    void this.pushReplicas(roundId, bytes, holders);
  }

  /** Aggregator, before posting: keeps the encoded aggregate and announces it with the signed `Aggregate`. */
  async announceAggregate(
    roundId: bigint,
    aggregateCommitment: Hex,
    modelRef: Hex,
    aggregate: Uint16Array,
    updateShas: readonly (string | undefined)[],
  ): Promise<void> {
    const hash = this.keepAggregate(roundId, aggregateBytesOf(aggregate));
    const shas = updateShas.map((u) => u ?? "");
    const signed = await this.sign("Aggregate", roundId, aggregateCommitment, modelRef);
    await this.publish({
      kind: "aggregate",
      roundId: roundId.toString(),
      aggregateCommitment,
      modelRef,
      sha256: hash,
      updates: shas,
      signature: signed.signature,
    });
  }

  private async sign(kind: "Commitment", roundId: bigint, a: Hex, b: bigint): Promise<SignedValue>;
  private async sign(kind: "Aggregate", roundId: bigint, a: Hex, b: Hex): Promise<SignedValue>;
  private async sign(
    kind: "Commitment" | "Aggregate",
    roundId: bigint,
    a: Hex,
    b: bigint | Hex,
  ): Promise<SignedValue> {
    const pair = kind === "Commitment" ? commitmentPair(a, b as bigint) : ([a, b as Hex] as const);
    return signRoundMessage(this.ctx.options.wallet, this.domain, kind, roundId, pair);
  }

  /** Publishes an announcement and records it as if received (gossip does not deliver our own messages). */
  private async publish(announcement: Announcement): Promise<void> {
    await this.receive(announcement, this.ctx.options.wallet.account.address);
    await this.ctx.options.mesh.gossip.publish(ROUND_DATA_TOPIC, announcement).catch(() => 0);
  }

  private async receive(announcement: Announcement, sender: Address): Promise<void> {
    const roundId = BigInt(announcement.roundId);
    if (roundId > this.activeRound + 1n || roundId + ROUNDS_KEPT < this.activeRound) return;
    const value: SignedValue =
      announcement.kind === "update"
        ? {
            kind: "Commitment",
            roundId,
            pair: commitmentPair(announcement.commitment as Hex, BigInt(announcement.sampleCount)),
            signature: announcement.signature as Hex,
          }
        : {
            kind: "Aggregate",
            roundId,
            pair: [announcement.aggregateCommitment as Hex, announcement.modelRef as Hex],
            signature: announcement.signature as Hex,
          };
    const signer = await signerOf(this.domain, value);
    if (signer === undefined || signer.toLowerCase() !== sender.toLowerCase()) return;
    const entry = this.entry(roundId);
    const equivocation = entry.ledger.record(signer, value);
    if (equivocation !== undefined)
      this.ctx.log.warn(
        { roundId, signer, kind: value.kind },
        "a peer signed two different values for one round",
      );
    const operator = signer.toLowerCase();
    if (announcement.kind === "update") {
      if (!entry.updateShas.has(operator)) {
        entry.updateShas.set(operator, announcement.sha256);
        entry.replicaHolders.set(announcement.sha256, new Set(announcement.replicas ?? []));
      }
    } else if (!entry.aggregates.has(operator)) {
      entry.aggregates.set(operator, { sha256: announcement.sha256, updates: announcement.updates });
    }
  }

  /**
   * Aggregator, after posting: hands out what watchers derive the next model from, checked by each receiver (each
   * update against its trainer's commitment, the aggregate against the posted root).
   * - Proven round, every weighted update held: every update it screened, rejected ones included, and not the
   *   aggregate, each to UPDATE_SEED_PEERS seeds, which relay it on (update-relay.ts): the aggregator's upload is
   *   seeds × the round's update bytes, not one copy per admitted peer (1.80 / 5.15 / 5.24 MB at 128 / 256 / 512
   *   nodes, session 20). Every watcher recomputes the whole aggregate from them (a check of every chunk) and
   *   keeps the model that follows, so the aggregate's bytes would be a second copy: a flat proven round's 8 top-k
   *   updates together are about as large as their aggregate (default task, top-k 0.6%: 7.0 KB against 6.4 KB in
   *   aggregate wire version 2), and pushing both would double a node's round bytes (#22). The rejected ones are
   *   not needed for the recompute: every node folds them into its rule's silent memories (task-rule.ts
   *   `holdRevealed`), which must see a trainer's rejected pushes too, whoever aggregated the round.
   * - Otherwise (unproven rounds, whose nodes do not recompute; a hierarchical root, which holds partials): the
   *   encoded aggregate only, to AGGREGATE_SEED_PEERS random peers; the others fetch it from whoever holds it.
   * Either way every update and the aggregate stay announced and served on demand (data availability, §5).
   */
  async distribute(
    roundId: bigint,
    round: { readonly trainers: readonly Address[]; readonly proven: boolean },
    weights: readonly number[],
    aggregate: Uint16Array,
    updateShas: readonly (string | undefined)[],
  ): Promise<void> {
    const screened = round.trainers.flatMap((trainer, i) => {
      const sha = updateShas[i];
      const bytes = sha === undefined ? undefined : this.bytes(sha);
      return sha === undefined ? [] : [{ trainer, sha, bytes }];
    });
    const weightedHeld = round.trainers.every(
      (_, i) =>
        (weights[i] ?? 0) === 0 || screened.some((u) => u.sha === updateShas[i] && u.bytes !== undefined),
    );
    if (round.proven && weightedHeld) {
      const blobs = screened.flatMap(({ trainer, sha, bytes }) =>
        bytes === undefined ? [] : [{ trainer, sha, bytes }],
      );
      if (this.ctx.adversary.seedsUpdates()) await this.relay.seed(roundId, round, blobs);
      return;
    }
    // The aggregate goes to a few random seeds only: the other nodes fetch it from whoever holds it (model-sync.ts).
    const bytes = this.bytes(sha256(aggregateBytesOf(aggregate)));
    if (bytes === undefined) return;
    const { mesh } = this.ctx.options;
    const peers = mesh.admission.admitted();
    while (peers.length > AGGREGATE_SEED_PEERS) peers.splice(randomInt(peers.length), 1);
    await Promise.all(
      peers.map(async (admitted) => {
        await mesh.blobs
          .push(
            peerIdFromString(admitted.peerId),
            "aggregate",
            bytes,
            { round: roundId.toString() },
            this.ctx.signal,
          )
          .then((outcome) => {
            if (outcome === "held") {
              this.ctx.log.debug({ roundId, peer: admitted.peerId }, "peer held the aggregate: not pushed");
              return;
            }
            this.ctx.stats.bytesSent += bytes.length;
            this.ctx.stats.aggregatesServed += 1;
          })
          .catch((error: unknown) => this.ctx.log.debug({ err: error, roundId }, "aggregate push failed"));
      }),
    );
  }

  /** The peers `sha`'s trainer said it pushed replicas to (update-relay.ts does not push it to them). */
  replicaHolders(roundId: bigint, sha: string): ReadonlySet<string> | undefined {
    return this.rounds.get(roundId)?.replicaHolders.get(sha);
  }

  /** Blob handler: the round's aggregator hands out its encoded aggregate (checked by the watcher before use). */
  async receiveAggregate(
    from: string,
    bytes: Uint8Array,
    meta: Readonly<Record<string, string | number | boolean>>,
  ): Promise<void> {
    const roundText = meta["round"];
    if (typeof roundText !== "string" || !/^\d{1,20}$/.test(roundText))
      throw new MeshError("BLOB_REJECTED", "aggregate without a round number");
    const roundId = BigInt(roundText);
    const sender = this.ctx.options.mesh.admission.peer(from)?.operator?.toLowerCase();
    if (sender === undefined) throw new MeshError("NOT_ADMITTED", "sender is not admitted");
    const round = await this.ctx.chain.roundForPush(
      roundId,
      from,
      (r) => r.aggregator.toLowerCase() === sender,
    );
    if (sender !== round.aggregator.toLowerCase())
      throw new MeshError("BLOB_REJECTED", "only the round's aggregator hands out its aggregate");
    if (aggregateFromBytes(bytes, this.ctx.paramSize) === undefined)
      throw new MeshError("BLOB_REJECTED", "not an encoded aggregate of this model's size");
    this.keepAggregate(roundId, bytes);
  }

  private async pushReplicas(roundId: bigint, bytes: Uint8Array, holders: readonly string[]): Promise<void> {
    const { mesh } = this.ctx.options;
    for (const peer of holders) {
      await mesh.blobs
        .push(
          peerIdFromString(peer),
          "update",
          bytes,
          { round: roundId.toString(), replica: true },
          this.ctx.signal,
        )
        .then((outcome) => {
          if (outcome === "sent") this.ctx.stats.bytesSent += bytes.length;
        })
        .catch((error: unknown) => this.ctx.log.debug({ err: error, roundId, peer }, "replica push failed"));
    }
  }

  private entry(roundId: bigint): RoundEntry {
    let entry = this.rounds.get(roundId);
    if (entry === undefined) {
      entry = {
        ledger: new SignedLedger(),
        updateShas: new Map(),
        aggregates: new Map(),
        blobs: new Map(),
        aggregateShas: new Set(),
        replicaHolders: new Map(),
        committed: new Map(),
      };
      this.rounds.set(roundId, entry);
      for (const old of this.rounds.keys()) if (old < roundId - ROUNDS_KEPT) this.rounds.delete(old);
    }
    return entry;
  }
}

/**
 * The encoded aggregate's bytes as served: the sparse form (only codes other than the code of 0,
 * compression/aggregate-wire.ts), or paramSize × u16 little-endian when that is not smaller. Deterministic, so
 * a watcher that recomputes the aggregate serves it under the name its aggregator posted.
 */
export function aggregateBytesOf(aggregate: Uint16Array): Uint8Array {
  const sparse = encodeSparseCodes(aggregate, VALUE_OFFSET);
  if (sparse.length < aggregate.byteLength) return sparse;
  return new Uint8Array(
    aggregate.buffer.slice(aggregate.byteOffset, aggregate.byteOffset + aggregate.byteLength),
  );
}
