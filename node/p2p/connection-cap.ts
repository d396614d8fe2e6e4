/**
 * The operator's connection cap (`maxConnections`), enforced on every connection that opens over it. libp2p
 * refuses inbound connections over its own limit but counts only established ones: dials racing in at once all
 * pass. The operator's cap is a limit, so something gives way each time: a connection still waiting for
 * admission (it holds no admitted peer's slot), else a badly reputed admitted peer, else (for a newcomer the node
 * holds a connection to for a round: a member of its small round's group, group-links.ts) a peer it does not
 * hold, else the newcomer. A node at its cap closed its group's trainers' dials while it kept 64 random mesh
 * peers (the 512-node bench, 2026-12-07: the aggregators closed 7 newcomers each at their cap of 64).
 */
import type { Connection, Libp2p, PeerId } from "@libp2p/interface";

/** Reputation of a peer nothing is known about (node/reputation's prior). */
export const NEUTRAL_RANK = 0.5;

/** Connections opened over `maxConnections`, by what made room (or did not). */
export interface CapCounters {
  /** An older connection still waiting for admission was aborted for the newcomer. */
  yieldedUnadmitted: number;
  /** The worst-ranked admitted peer (below neutral) was hung up on for the newcomer. */
  evictedWorst: number;
  /** Nothing could yield: the newcomer was closed. */
  closedNewcomers: number;
  /** The newcomer is a peer this node holds a connection to (its round's group): a peer it does not hold left. */
  evictedForHeld: number;
}

/** What the mesh offers the cap to make room. */
export interface CapRoom {
  /** Aborts the oldest inbound connection still waiting for admission, other than `newcomer`; false when none. */
  yieldOldestUnadmitted(newcomer: Connection): boolean;
  /** The connected, admitted peer with the lowest reputation, if the node ranks peers (never a held one). */
  worstRanked(): { peer: PeerId; rank: number } | undefined;
  /** Whether the node holds a connection to `peer` for a round (group-links.ts). */
  isHeld(peer: PeerId): boolean;
  /** A connected, admitted peer the node does not hold, other than `except` (the worst-ranked when it ranks). */
  unheldPeer(except: PeerId): PeerId | undefined;
}

/** Enforces `maxConnections` on `node`, counting in `counters` what gave way. */
export function enforceConnectionCap(
  node: Libp2p,
  maxConnections: number,
  room: CapRoom,
  counters: CapCounters,
): void {
  node.addEventListener("connection:open", (event) => {
    if (node.getConnections().length <= maxConnections) return;
    if (room.yieldOldestUnadmitted(event.detail)) {
      counters.yieldedUnadmitted += 1;
      return;
    }
    // Admission priority: a badly reputed peer gives its place to the newcomer; otherwise the newcomer waits.
    const worst = room.worstRanked();
    if (worst !== undefined && worst.rank < NEUTRAL_RANK && !event.detail.remotePeer.equals(worst.peer)) {
      counters.evictedWorst += 1;
      void node.hangUp(worst.peer).catch(() => undefined);
      return;
    }
    const newcomer = event.detail.remotePeer;
    const plain = room.isHeld(newcomer) ? room.unheldPeer(newcomer) : undefined;
    if (plain !== undefined) {
      counters.evictedForHeld += 1;
      void node.hangUp(plain).catch(() => undefined);
      return;
    }
    counters.closedNewcomers += 1;
    void event.detail.close().catch(() => event.detail.abort(new Error("connection cap")));
  });
}
