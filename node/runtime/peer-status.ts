/**
 * What the status API says about this node's peers, refreshed by the node's 2 s status tick: the admitted ones
 * (connected, reputation, abuse points) and the known ones not connected now, which keep the reputation this node
 * saved for them, also after a restart.
 */
import type { ChainStatusSource } from "../api/chain-source.ts";
import { abuseSnapshot } from "../p2p/abuse-report.ts";
import type { Mesh } from "../p2p/mesh.ts";
import type { ReputationBook } from "../reputation/index.ts";

/** A peer with no record yet starts at the neutral score. */
const NEUTRAL_REPUTATION = 0.5;

/** Publishes the peers' details and the mesh's abuse snapshot; returns how many peers are admitted. */
export function publishPeerStatus(
  status: ChainStatusSource,
  mesh: Mesh,
  reputation: ReputationBook | undefined,
): number {
  const score = (operator: string) => reputation?.score(operator) ?? NEUTRAL_REPUTATION;
  const admitted = mesh.admission.admitted();
  const connected = new Set(admitted.map((peer) => peer.peerId));
  for (const peer of admitted) {
    status.setPeerDetails(peer.peerId, {
      connected: true,
      reputation: score(peer.operator),
      abusePoints: Math.round(mesh.abuse.points(peer.peerId) * 10) / 10,
    });
  }
  status.update({ abuse: abuseSnapshot(mesh) });
  for (const peer of status.status().peers) {
    if (connected.has(peer.peerId)) continue;
    status.setPeerDetails(peer.peerId, { connected: false, reputation: score(peer.operator) });
  }
  return admitted.length;
}
