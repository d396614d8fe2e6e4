/**
 * Gossip topic names. Apart from gossip.ts so that modules naming a topic (round context, CLI commands) do not load
 * gossipsub and libp2p's utilities with it: `vain-node stake` loaded ~200 libp2p modules for this one function.
 */
import { PROTOCOL_PREFIX } from "./constants.ts";

/** A vAIn gossip topic name, namespaced so it can never collide with another network's topics. */
export function vainTopic(name: string): string {
  return `${PROTOCOL_PREFIX}/${name}`;
}
