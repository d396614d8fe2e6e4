/**
 * The peers a node holds connections to for its round's group (group-links.ts, issue #21), bounded. A held
 * newcomer takes a plain peer's place at the connection cap and neither the cap nor the degree upkeep prunes it,
 * so without a bound the other members of one 16-trainer round held 15 of a low-power node's 16 slots: whoever
 * commits to the node's round (any staked operator may commit to any round, and group membership is not enforced
 * on chain, SECURITY.md) could leave it one plain connection to the rest of the mesh for the round's length.
 * With at most half the cap held, a node always keeps half its slots for peers it ranks itself; members past the
 * bound are still dialed, as plain connections.
 */

/** Share of the connection cap that held peers may take (1/2). */
export const HELD_SHARE_DIVISOR = 2;

export class HeldPeers {
  private readonly max: number;
  /** Held peers by peer ID, with when each hold ends (wall clock, ms). */
  private readonly until = new Map<string, number>();

  /** `maxConnections`: the mesh's connection cap; at most half of it is held at once. */
  constructor(maxConnections: number) {
    this.max = Math.floor(maxConnections / HELD_SHARE_DIVISOR);
  }

  /**
   * Holds `peer` until `untilMs`, or renews its hold; false, and nothing held, when `peer` is not held and the
   * bound is reached by holds that have not ended.
   */
  hold(peer: string, untilMs: number, now: number = Date.now()): boolean {
    if (!this.has(peer, now) && this.count(now) >= this.max) return false;
    this.until.set(peer, untilMs);
    return true;
  }

  /** Whether `peer` is held now (an ended hold is dropped). */
  has(peer: string, now: number = Date.now()): boolean {
    const until = this.until.get(peer);
    if (until === undefined) return false;
    if (until >= now) return true;
    this.until.delete(peer);
    return false;
  }

  /** Holds that have not ended (ended ones are dropped). */
  count(now: number = Date.now()): number {
    for (const [peer, until] of this.until) if (until < now) this.until.delete(peer);
    return this.until.size;
  }
}
