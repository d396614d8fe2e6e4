/**
 * Keeps a mesh node at its target degree (mesh.ts runs `maintain` every `maintenanceIntervalMs`, and offers every
 * discovered peer to `discovered`): applies the graylist, redials known peers when none is admitted, prunes the
 * worst-reputed peer above the target, and asks an admitted peer for others (PEX) while below it.
 */
import type { Libp2p, PeerId } from "@libp2p/interface";
import type { GossipSub } from "@libp2p/gossipsub";

import type { AdmissionController } from "./admission/admission.ts";
import type { GraylistRule } from "./graylist.ts";
import { PRUNE_BELOW_RANK } from "./peer-rank.ts";
import type { PeerExchange } from "./pex.ts";
import { redialKnownPeers } from "./redial.ts";

/** A dial made to fill the target degree gives up after this long (Noise + identify take well under 1 s). */
const DEGREE_DIAL_TIMEOUT_MS = 10_000;

export interface DegreeUpkeepComponents {
  /** The running libp2p node (undefined before start and after stop). */
  readonly node: () => Libp2p<{ pubsub: GossipSub }> | undefined;
  readonly admission: AdmissionController;
  readonly graylist: GraylistRule;
  readonly pex: PeerExchange;
  readonly bootstrap: readonly string[];
  readonly targetDegree: number;
  /** The connected, admitted peer with the lowest reputation (never a held one; mesh.ts). */
  readonly worstRanked: (peers: readonly PeerId[]) => { peer: PeerId; rank: number } | undefined;
}

export class DegreeUpkeep {
  private readonly components: DegreeUpkeepComponents;
  private maintaining = false;
  /** Peers being dialed for the degree (`dial`), by peer ID. */
  private readonly dialsInFlight = new Set<string>();

  constructor(components: DegreeUpkeepComponents) {
    this.components = components;
  }

  /** A peer discovery event: dialed while the degree is short. */
  discovered(peer: PeerId): void {
    if (this.shortfall() > 0) this.dial(peer);
  }

  /** Keeps the target number of peers: asks an admitted peer for others (PEX) and dials the missing ones. */
  async maintain(): Promise<void> {
    const { admission, graylist, pex } = this.components;
    const node = this.components.node();
    if (node === undefined || this.maintaining) return;
    this.maintaining = true;
    try {
      const admitted = admission.admitted();
      // Graylisted peers: evicted only when their invalid messages alone put them there (graylist.ts).
      graylist.apply(
        node.services.pubsub,
        admitted.map((peer) => peer.peerId),
      );
      if (admitted.length === 0) {
        await redialKnownPeers(node, {
          bootstrap: this.components.bootstrap,
          isRefused: (peerId) => admission.isRefused(peerId),
          shortfall: () => this.shortfall(),
          dial: (peer) => this.dial(peer),
        });
        return;
      }
      // Every open connection counts toward the target, admitted or still being checked: counting only
      // admitted peers made a node whose admissions were queued (formation under load) dial again every
      // interval, and inbound peers are as good as outbound ones for gossip. This kept a target of 6 at a
      // mean of 22 connections in bench:mesh.
      // Above the target degree, the worst-reputed peer goes if its reputation is bad (peer-rank.ts).
      if (this.shortfall() < 0) {
        const worst = this.components.worstRanked(node.getPeers());
        if (worst !== undefined && worst.rank < PRUNE_BELOW_RANK)
          await node.hangUp(worst.peer).catch(() => undefined);
      }
      if (this.shortfall() <= 0) return;
      const source = admitted[Math.floor(Math.random() * admitted.length)];
      if (source === undefined) return;
      const sourcePeer = node.getPeers().find((p) => p.toString() === source.peerId);
      if (sourcePeer === undefined) return;
      const learned = await pex.ask(sourcePeer).catch((): PeerId[] => []);
      for (const peer of learned) {
        if (this.shortfall() <= 0) break;
        this.dial(peer);
      }
    } finally {
      this.maintaining = false;
    }
  }

  /**
   * Peers still missing to the target degree: open connections and dials under way both count. Without the
   * dials, one PEX answer (16 records, each a `peer:discovery` event) started 16 dials before the first
   * one connected.
   */
  private shortfall(): number {
    const node = this.components.node();
    if (node === undefined) return 0;
    return this.components.targetDegree - node.getPeers().length - this.dialsInFlight.size;
  }

  /** Dials `peer` to fill the degree, unless already connected or being dialed. */
  private dial(peer: PeerId): void {
    const node = this.components.node();
    const key = peer.toString();
    if (node === undefined || peer.equals(node.peerId) || this.dialsInFlight.has(key)) return;
    if (node.getConnections(peer).length > 0) return;
    this.dialsInFlight.add(key);
    void node
      .dial(peer, { signal: AbortSignal.timeout(DEGREE_DIAL_TIMEOUT_MS) })
      .catch(() => undefined)
      .finally(() => this.dialsInFlight.delete(key));
  }
}
