/**
 * Moving a round's blobs between operators: an update or partial goes to the node an operator bound on
 * chain, reached through the mesh (dialing the addresses it announced when we never met it, and closing that
 * connection once the push is acknowledged, unless it is held for the round's group: group-links.ts).
 * Aggregators, and the members of a small round once they committed, announce where they listen on
 * `AGGREGATOR_TOPIC`; every node keeps the latest announcement per peer.
 */
import type { Address, Hex } from "viem";

import { blobMeta } from "./blob-meta.ts";
import { AGGREGATOR_TOPIC, ANNOUNCE_INTERVAL_MS, aggregatorAnnouncementSchema } from "./context.ts";
import type { RoundContext } from "./context.ts";
import type { AggregatorWork } from "./round-work.ts";

/** Most addresses an announcement carries (the schema's bound). */
const MAX_ANNOUNCED_ADDRS = 8;

export class Delivery {
  private readonly ctx: RoundContext;
  /** Listen addresses each aggregator announced, by peer ID. */
  private readonly announced = new Map<string, readonly string[]>();

  constructor(ctx: RoundContext) {
    this.ctx = ctx;
    // The selected aggregator announces where it listens, so trainers never connected to it can dial it.
    ctx.options.mesh.gossip.subscribe(AGGREGATOR_TOPIC, aggregatorAnnouncementSchema, (message) => {
      this.announced.set(message.from, message.body.addrs);
    });
  }

  /** Pushes a round's blob to the node bound to `operator`, dialing and admitting it first if needed. */
  async pushTo(
    operator: Address,
    kind: "update" | "partial",
    bytes: Uint8Array,
    roundId: bigint,
    /** The base model an update was trained from (buffered tasks: the aggregator counts its staleness). */
    base?: Hex,
  ): Promise<void> {
    const { mesh } = this.ctx.options;
    const peer = await this.ctx.chain.peerOf(operator);
    // A connection dialed only to deliver is closed once the push is acknowledged (`transfer`): the aggregator
    // then holds a slot per delivery in flight, not per trainer (#21: stalled at its cap of 64 at 128 nodes).
    await mesh.transfer(peer, this.announced.get(peer.toString()) ?? [], () =>
      mesh.blobs.push(peer, kind, bytes, blobMeta(roundId, base), this.ctx.signal),
    );
  }

  /** The addresses `peer` last announced (an aggregator, or a small round's member: group-links.ts). */
  addrsOf(peer: string): readonly string[] {
    return this.announced.get(peer) ?? [];
  }

  /** Announces where this node listens, once, as a member of round `roundId`'s group (group-links.ts). */
  announceMember(roundId: bigint): void {
    this.publishAddrs(roundId);
  }

  /** An aggregator (or sub-aggregator) re-announces its addresses every `ANNOUNCE_INTERVAL_MS` until it posts. */
  announce(roundId: bigint, work: AggregatorWork): void {
    if (work.posted || Date.now() - (work.announcedAt ?? 0) <= ANNOUNCE_INTERVAL_MS) return;
    work.announcedAt = Date.now();
    this.publishAddrs(roundId);
  }

  private publishAddrs(roundId: bigint): void {
    const { mesh } = this.ctx.options;
    const addrs = mesh
      .multiaddrs()
      .slice(0, MAX_ANNOUNCED_ADDRS)
      .map((m) => m.toString());
    void mesh.gossip.publish(AGGREGATOR_TOPIC, { roundId: roundId.toString(), addrs }).catch(() => 0);
  }
}
