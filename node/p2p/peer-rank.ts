/**
 * The mesh keeps its best-reputed neighbours: above the target degree it drops the worst-ranked admitted peer
 * if that rank is bad (`Mesh.maintain`, PRUNE_BELOW_RANK). A dropped peer can come back; it is simply not kept
 * when there are better neighbours.
 */
import type { PeerId } from "@libp2p/interface";
import type { Address } from "viem";

/** Peers below this reputation are dropped when the node has more neighbours than it needs. */
export const PRUNE_BELOW_RANK = 0.3;

/** The connected, admitted peer with the lowest rank (`rank` of its operator), if any. */
export function worstRankedPeer(
  peers: readonly PeerId[],
  operatorOf: (peerId: string) => Address | undefined,
  rank: (operator: Address) => number,
): { peer: PeerId; rank: number } | undefined {
  let worst: { peer: PeerId; rank: number } | undefined;
  for (const peer of peers) {
    const operator = operatorOf(peer.toString());
    if (operator === undefined) continue;
    const r = rank(operator);
    if (worst === undefined || r < worst.rank) worst = { peer, rank: r };
  }
  return worst;
}
