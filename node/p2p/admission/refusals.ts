/**
 * Who this node turns away, until when (the gater's list), and which of them for their operator's stake: a change
 * of that operator's standing on chain (a stake, a top-up after a slash) lifts their refusal at once. Without the
 * lift a restaked operator stayed refused for the refusal's full minute and more (95 s in the soak of
 * 2026-12-07), sitting out rounds it had staked for.
 */
export class Refusals {
  private readonly until = new Map<string, number>();
  /** Peer ID → the operator (lower case) whose stake it was refused for. */
  private readonly forStake = new Map<string, string>();

  /** Turns `peerId` away for `ttlMs`; `stakeOf`: the operator whose insufficient stake is the reason. */
  refuse(peerId: string, ttlMs: number, stakeOf?: string): void {
    this.until.set(peerId, Date.now() + ttlMs);
    if (stakeOf === undefined) this.forStake.delete(peerId);
    else this.forStake.set(peerId, stakeOf.toLowerCase());
  }

  has(peerId: string): boolean {
    const until = this.until.get(peerId);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.until.delete(peerId);
    this.forStake.delete(peerId);
    return false;
  }

  /** `operator`'s standing changed: its peers refused for their stake may be checked again now. */
  liftStakeOf(operator: string): void {
    const wanted = operator.toLowerCase();
    for (const [peerId, refused] of this.forStake) {
      if (refused !== wanted) continue;
      this.forStake.delete(peerId);
      this.until.delete(peerId);
    }
  }
}
