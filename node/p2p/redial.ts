/**
 * A node with no admitted peer (all evicted, refused, or gone) has nobody to ask for others (PEX): maintenance
 * dials its bootstrap peers and the peers it knows (libp2p's peer store) again, those not refused right now, so it
 * rejoins once their refusal ends. Without it an isolated node stayed alone: it dialed nobody, and a peer it had
 * evicted had no reason to dial it either (issue #25, session 16's soak).
 */
import type { Libp2p, PeerId } from "@libp2p/interface";

export interface RedialInit {
  /** Bootstrap addresses (each ends in /p2p/<peer ID>), dialed first. */
  readonly bootstrap: readonly string[];
  /** A peer we refuse right now (abuse, a bad binding) is not dialed: the gater would refuse the dial anyway. */
  readonly isRefused: (peerId: string) => boolean;
  /** Peers still missing to the target degree (open connections and dials under way count). */
  readonly shortfall: () => number;
  readonly dial: (peer: PeerId) => void;
}

/** Dials known peers, bootstrap peers first, until the degree shortfall is covered. */
export async function redialKnownPeers(node: Libp2p, init: RedialInit): Promise<void> {
  // libp2p's bootstrap module put the bootstrap peers in the peer store at start, with their addresses.
  const bootstrap = new Set(init.bootstrap.map((text) => text.split("/p2p/").at(-1)));
  const peers = await node.peerStore.all().catch(() => []);
  const known = peers.filter((p) => p.addresses.length > 0 && !p.id.equals(node.peerId)).map((p) => p.id);
  const ordered = [
    ...known.filter((id) => bootstrap.has(id.toString())),
    ...known.filter((id) => !bootstrap.has(id.toString())),
  ];
  for (const id of ordered) {
    if (init.shortfall() <= 0) return;
    if (!init.isRefused(id.toString())) init.dial(id);
  }
}
