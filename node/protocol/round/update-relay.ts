/**
 * How a proven round's updates reach every watcher without the aggregator uploading them to each (issue #21, model
 * distribution that scales). After posting, the aggregator pushes each update it screened to UPDATE_SEED_PEERS
 * seeds; a node that received one pushed and checked it against its trainer's on-chain commitment offers it to
 * RELAY_COPIES_PER_BLOB more peers, once per update and within RELAY_COPIES_PER_WINDOW bodies a minute. A peer
 * that holds the update already answers "held" before the body (push 2.0.0), so a duplicate costs a header; a
 * watcher the spread missed fetches the update from its holders after the push grace (aggregate-watcher.ts).
 *
 * Only checked bytes move on (the receiver relays after its own check), and only updates the round's aggregator
 * signed it screened (round-data.ts `relayUpdate`): a peer can make a node relay nothing it would not need itself.
 */
import { setTimeout as delay } from "node:timers/promises";

import { peerIdFromString } from "@libp2p/peer-id";
import type { Address } from "viem";

import type { PushOutcome } from "../../p2p/blobs.ts";
import {
  RELAY_ANNOUNCEMENT_WAIT_MS,
  RELAY_COPIES_PER_BLOB,
  RELAY_COPIES_PER_WINDOW,
  RELAY_TRACKED_BLOBS,
  RELAY_TRIES_PER_BLOB,
  RELAY_WINDOW_MS,
  UPDATE_SEED_PEERS,
  UPDATE_SEED_TRIES,
} from "./constants.ts";
import type { RoundContext } from "./context.ts";
import { shuffled } from "./peer-sources.ts";

/** Updates the aggregator seeds at once (each to its seeds one push at a time per seed slot). */
const SEED_PARALLEL_BLOBS = 4;
/** Interval at which a relay looks for the aggregator's announcement (ms). */
const ANNOUNCEMENT_POLL_MS = 250;

/** An admitted peer that may be offered an update: its peer ID and its operator (lower case). */
export interface RelayPeer {
  readonly peerId: string;
  readonly operator: string;
}

/**
 * The peers to offer an update to, in order: the round's members (`members`: operators, lower case; each one
 * committed in the round and watches it) first, then every other admitted peer, each group in random order,
 * without the peers `skip` names (the sender, the update's trainer, the aggregator, known holders). Members
 * first because in a group task nearly every watcher is a member, while most admitted peers run other tasks.
 */
export function relayOrder(
  peers: readonly RelayPeer[],
  members: ReadonlySet<string>,
  skip: (peer: RelayPeer) => boolean,
): string[] {
  const offered = peers.filter((peer) => !skip(peer));
  const first = offered.filter((peer) => members.has(peer.operator));
  const rest = offered.filter((peer) => !members.has(peer.operator));
  return [...shuffled(first), ...shuffled(rest)].map((peer) => peer.peerId);
}

/**
 * A node's relay budget: each update (by content hash) is relayed once, and at most `copiesPerWindow` bodies go
 * out per window over all of them. A copy is taken before a push and given back when the push did not send its
 * body (held, refused, failed), so "held" answers cost nothing of it.
 */
export class RelayBudget {
  private readonly copiesPerWindow: number;
  private readonly windowMs: number;
  private readonly tracked: number;
  /** Updates relayed already, oldest first. */
  private readonly relayed = new Set<string>();
  private windowStart = Number.NEGATIVE_INFINITY;
  private spent = 0;

  constructor(
    copiesPerWindow: number = RELAY_COPIES_PER_WINDOW,
    windowMs: number = RELAY_WINDOW_MS,
    tracked: number = RELAY_TRACKED_BLOBS,
  ) {
    this.copiesPerWindow = copiesPerWindow;
    this.windowMs = windowMs;
    this.tracked = tracked;
  }

  /** Whether this is the first relay of update `sha` (marked relayed either way). */
  claim(sha: string): boolean {
    if (this.relayed.has(sha)) return false;
    if (this.relayed.size >= this.tracked) this.relayed.delete(this.relayed.values().next().value!);
    this.relayed.add(sha);
    return true;
  }

  /** Takes one body of the window's budget; false when it is spent. */
  take(now: number = Date.now()): boolean {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.spent = 0;
    }
    if (this.spent >= this.copiesPerWindow) return false;
    this.spent += 1;
    return true;
  }

  /** Gives back a body taken for a push that did not send it. */
  refund(): void {
    if (this.spent > 0) this.spent -= 1;
  }
}

/** What offering one update to peers did. */
export interface OfferOutcome {
  /** Peers that took the body. */
  readonly sent: readonly string[];
  /** Peers that answered "held" (a header, no body). */
  readonly held: number;
  /** Pushes that failed or were refused. */
  readonly failed: number;
}

/**
 * Offers one blob to the peers of `order` until `copies` took its body or `tries` pushes were made, `copies`
 * pushes at a time at most (so no more than `copies` bodies go out); `mayCopy` is asked before each push (the
 * relay budget; the aggregator's seeding has none) and `unCopy` told when that push sent no body.
 */
export async function offerBlob(
  push: (peerId: string) => Promise<PushOutcome>,
  order: readonly string[],
  copies: number,
  tries: number,
  mayCopy: () => boolean = () => true,
  unCopy: () => void = () => undefined,
): Promise<OfferOutcome> {
  const sent: string[] = [];
  let held = 0;
  let failed = 0;
  let next = 0;
  let inFlight = 0;
  const worker = async (): Promise<void> => {
    while (sent.length + inFlight < copies && next < Math.min(order.length, tries)) {
      if (!mayCopy()) return;
      const peer = order[next++]!;
      inFlight += 1;
      const outcome = await push(peer).catch(() => "failed" as const);
      inFlight -= 1;
      if (outcome === "sent") sent.push(peer);
      else {
        unCopy();
        if (outcome === "held") held += 1;
        else failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: copies }, worker));
  return { sent, held, failed };
}

/** What the relay reads of a node's round data (round-data.ts). */
export interface UpdateRelayData {
  /** The content hashes the round's aggregator announced it screened ("" for a trainer it had nothing of). */
  screenedShas(roundId: bigint, aggregator: Address): readonly string[] | undefined;
  /** Peers the update's trainer said it pushed replicas to. */
  replicaHolders(roundId: bigint, sha: string): ReadonlySet<string> | undefined;
}

/** One update of a round to hand out: its trainer, bytes and content hash. */
export interface RoundUpdateBlob {
  readonly trainer: Address;
  readonly bytes: Uint8Array;
  readonly sha: string;
}

/** A proven round's updates spread from a few seeds by the nodes that checked them (see the top of this file). */
export class UpdateRelay {
  private readonly ctx: RoundContext;
  private readonly data: UpdateRelayData;
  private readonly budget: RelayBudget;

  constructor(ctx: RoundContext, data: UpdateRelayData, budget: RelayBudget = new RelayBudget()) {
    this.ctx = ctx;
    this.data = data;
    this.budget = budget;
  }

  /**
   * Aggregator, after posting: each update to UPDATE_SEED_PEERS seeds (members of the round first), never its
   * trainer nor the peers its trainer pushed replicas to; SEED_PARALLEL_BLOBS updates at a time.
   */
  async seed(
    roundId: bigint,
    round: { readonly trainers: readonly Address[] },
    blobs: readonly RoundUpdateBlob[],
  ): Promise<void> {
    const queue = [...blobs];
    const members = new Set(round.trainers.map((t) => t.toLowerCase()));
    const next = async (): Promise<void> => {
      for (let blob = queue.shift(); blob !== undefined; blob = queue.shift()) {
        const holders = this.data.replicaHolders(roundId, blob.sha);
        const order = this.orderFor(members, blob.trainer, (peer) => holders?.has(peer.peerId) === true);
        const outcome = await offerBlob(
          (peer) => this.push(peer, roundId, blob),
          order,
          UPDATE_SEED_PEERS,
          UPDATE_SEED_TRIES,
        );
        this.ctx.log.debug(
          { roundId, sha: blob.sha.slice(0, 12), seeds: outcome.sent.length, held: outcome.held },
          "update seeded",
        );
      }
    };
    await Promise.all(Array.from({ length: SEED_PARALLEL_BLOBS }, next));
  }

  /**
   * A node that received `blob` pushed by `from` in the hand-out form (naming its trainer) and checked it against
   * the trainer's commitment: offers it to RELAY_COPIES_PER_BLOB peers that do not hold it, once, within the
   * window's budget, if the round's aggregator announced it screened it (waiting RELAY_ANNOUNCEMENT_WAIT_MS at
   * most for the announcement). Never throws: a relay that cannot go out is the late fetch's business.
   */
  async relay(
    roundId: bigint,
    round: { readonly trainers: readonly Address[]; readonly aggregator: Address },
    blob: RoundUpdateBlob,
    from: string,
  ): Promise<void> {
    if (!this.budget.claim(blob.sha)) return;
    const listed = await this.listed(roundId, round.aggregator, blob.sha);
    if (!listed) {
      this.ctx.log.debug({ roundId, sha: blob.sha.slice(0, 12) }, "not relayed: no announcement lists it");
      return;
    }
    const members = new Set(round.trainers.map((t) => t.toLowerCase()));
    const aggregator = round.aggregator.toLowerCase();
    const holders = this.data.replicaHolders(roundId, blob.sha);
    const order = this.orderFor(
      members,
      blob.trainer,
      (peer) => peer.peerId === from || peer.operator === aggregator || holders?.has(peer.peerId) === true,
    );
    const outcome = await offerBlob(
      (peer) => this.push(peer, roundId, blob),
      order,
      RELAY_COPIES_PER_BLOB,
      RELAY_TRIES_PER_BLOB,
      () => this.budget.take(),
      () => this.budget.refund(),
    );
    this.ctx.stats.updatesRelayed += outcome.sent.length;
    this.ctx.log.debug(
      { roundId, sha: blob.sha.slice(0, 12), relayed: outcome.sent.length, held: outcome.held },
      "update relayed",
    );
  }

  /** Admitted peers in offer order, without the update's trainer and those `skip` names. */
  private orderFor(members: ReadonlySet<string>, trainer: Address, skip: (peer: RelayPeer) => boolean) {
    const owner = trainer.toLowerCase();
    const peers = this.ctx.options.mesh.admission
      .admitted()
      .map((p) => ({ peerId: p.peerId, operator: p.operator.toLowerCase() }));
    return relayOrder(peers, members, (peer) => peer.operator === owner || skip(peer));
  }

  /** Whether the round's aggregator's announcement lists `sha` among its screened updates (waits for it a while). */
  private async listed(roundId: bigint, aggregator: Address, sha: string): Promise<boolean> {
    const until = Date.now() + RELAY_ANNOUNCEMENT_WAIT_MS;
    for (;;) {
      if (this.data.screenedShas(roundId, aggregator)?.includes(sha) === true) return true;
      if (Date.now() >= until || this.ctx.signal.aborted) return false;
      await delay(ANNOUNCEMENT_POLL_MS, undefined, { signal: this.ctx.signal }).catch(() => undefined);
    }
  }

  /** One push of an update in the hand-out form (its trainer named): the receiver checks it and may relay it. */
  private async push(peerId: string, roundId: bigint, blob: RoundUpdateBlob): Promise<PushOutcome> {
    const meta = { round: roundId.toString(), replica: true, trainer: blob.trainer };
    const outcome = await this.ctx.options.mesh.blobs.push(
      peerIdFromString(peerId),
      "update",
      blob.bytes,
      meta,
      this.ctx.signal,
    );
    if (outcome === "sent") this.ctx.stats.bytesSent += blob.bytes.length;
    return outcome;
  }
}
