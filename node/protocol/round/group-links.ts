/**
 * A small round's trainers connect to each other while it is open (issue #21). In a hierarchical round every node
 * trains in a leaf group of at most 16; its aggregator is drawn from the group when the commit window closes and
 * was usually not among the trainer's mesh peers (10-64 random ones). In the 512-node three-level bench
 * (2026-12-07) 480 trainers then dialed their 32 aggregators at once inside the 600 s aggregate window, in one
 * event loop: 10,945 failed pushes (Noise handshake and stream timeouts; 1,208 NoValidAddressesError, the trainer
 * knew no address of its aggregator yet), 363 delivered in 18 minutes.
 *
 * Here each member, once it committed, announces its addresses (the aggregators' gossip topic, delivery.ts),
 * holds its fellow members' connections for the round (mesh.ts `hold`: at the connection cap a held newcomer takes
 * a plain peer's place, and a delivery does not hang up on it) and dials the members it is not connected to, a few
 * per tick, one side of each pair only: the group's handshakes are spread over the commit phase, and whoever is
 * drawn, its trainers push over a connection they hold. A round above GROUP_LINK_MAX_TRAINERS (a flat round of
 * every node) links nothing: holding every trainer was what filled a 128-node aggregator's cap (session 11).
 */
import type { PeerId } from "@libp2p/interface";
import type { Address } from "viem";

import type { RoundContext } from "./context.ts";
import type { Delivery } from "./delivery.ts";

/** The largest round whose trainers link up: a leaf group's (a proven round's cap, 16; 15 connections each). */
export const GROUP_LINK_MAX_TRAINERS = 16;
/** Dials a member starts per tick at most: the handshakes spread over the commit phase's ticks. */
export const GROUP_DIALS_PER_TICK = 2;
/** How long a hold lasts past the tick that renewed it (ms): renewed every tick while the round is open or aggregating. */
export const GROUP_HOLD_MS = 10 * 60_000;
/** Pause before dialing a member again after a failed dial (ms). */
export const GROUP_REDIAL_MS = 30_000;

export class GroupLinks {
  private readonly ctx: RoundContext;
  private readonly delivery: Delivery;
  /** The round whose group this node links, its members' peers, and when each may be dialed again. */
  private current: { roundId: bigint; peers: Map<string, { peer: PeerId; retryAt: number }> } | undefined;
  private resolving = false;
  private dialing = 0;

  constructor(ctx: RoundContext, delivery: Delivery) {
    this.ctx = ctx;
    this.delivery = delivery;
  }

  /**
   * On each tick while round `roundId` is open or aggregating and this node is among its `trainers`: announces
   * once, renews the holds and starts the dials due. Never awaited by the tick; failures wait for a later tick.
   */
  tick(roundId: bigint, trainers: readonly Address[]): void {
    if (trainers.length > GROUP_LINK_MAX_TRAINERS) return;
    const me = this.ctx.me;
    if (!trainers.some((t) => t.toLowerCase() === me)) return;
    if (this.current?.roundId !== roundId) {
      this.current = { roundId, peers: new Map() };
      this.delivery.announceMember(roundId);
    }
    const current = this.current;
    const missing = trainers.filter((t) => t.toLowerCase() !== me && !current.peers.has(t.toLowerCase()));
    if (missing.length > 0 && !this.resolving) {
      this.resolving = true;
      void this.resolve(current.peers, missing).finally(() => (this.resolving = false));
    }
    const { mesh } = this.ctx.options;
    const mine = mesh.peerId.toString();
    const until = Date.now() + GROUP_HOLD_MS;
    for (const member of current.peers.values()) {
      mesh.hold(member.peer, until);
      // One side of each pair dials (the smaller peer ID): two crossing dials would open two connections.
      if (this.dialing >= GROUP_DIALS_PER_TICK || member.peer.toString() < mine) continue;
      if (Date.now() < member.retryAt || mesh.isConnected(member.peer)) continue;
      this.dialing += 1;
      member.retryAt = Date.now() + GROUP_REDIAL_MS;
      void mesh
        .reach(member.peer, this.delivery.addrsOf(member.peer.toString()), this.ctx.signal)
        .catch((error: unknown) => this.ctx.log.debug({ err: error, roundId }, "group member dial failed"))
        .finally(() => (this.dialing -= 1));
    }
  }

  /** Looks up the peers the members bound on chain (one read each, once a round). */
  private async resolve(
    peers: Map<string, { peer: PeerId; retryAt: number }>,
    members: readonly Address[],
  ): Promise<void> {
    for (const member of members) {
      try {
        peers.set(member.toLowerCase(), { peer: await this.ctx.chain.peerOf(member), retryAt: 0 });
      } catch (error) {
        this.ctx.log.debug({ err: error, member }, "group member's peer not found");
      }
    }
  }
}
