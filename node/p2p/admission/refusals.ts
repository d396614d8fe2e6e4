/**
 * Who this node turns away, until when (the gater's list), and which of them for their operator's stake: a change
 * of that operator's standing on chain (a stake, a top-up after a slash) lifts their refusal at once. Without the
 * lift a restaked operator stayed refused for the refusal's full minute and more (95 s in the soak of
 * 2026-12-07), sitting out rounds it had staked for. Only a change *after* the block the refusal was read at
 * lifts it: the registry's events arrive a poll late, and the operator's own earlier event (its bind, its first
 * stake) lifted a refusal made on a read that already held it, so a refused peer was let in to be checked again
 * (mesh.test, fresh-clone CI of 2026-12-07).
 */
/** The operator whose stake was too low, as read at `asOfBlock`. */
export interface StakeReason {
  readonly operator: string;
  readonly asOfBlock: bigint;
}

export class Refusals {
  private readonly until = new Map<string, number>();
  /** Peer ID → the operator (lower case) whose stake it was refused for, and the block that stake was read at. */
  private readonly forStake = new Map<string, StakeReason>();

  /** Turns `peerId` away for `ttlMs`; `stakeOf`: the operator whose insufficient stake (as of a block) is the reason. */
  refuse(peerId: string, ttlMs: number, stakeOf?: StakeReason): void {
    this.until.set(peerId, Date.now() + ttlMs);
    if (stakeOf === undefined) this.forStake.delete(peerId);
    else
      this.forStake.set(peerId, { operator: stakeOf.operator.toLowerCase(), asOfBlock: stakeOf.asOfBlock });
  }

  has(peerId: string): boolean {
    const until = this.until.get(peerId);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.until.delete(peerId);
    this.forStake.delete(peerId);
    return false;
  }

  /** `operator`'s standing changed in block `atBlock`: its peers refused on an earlier read may be checked again. */
  liftStakeOf(operator: string, atBlock: bigint): void {
    const wanted = operator.toLowerCase();
    for (const [peerId, refused] of this.forStake) {
      if (refused.operator !== wanted || atBlock <= refused.asOfBlock) continue;
      this.forStake.delete(peerId);
      this.until.delete(peerId);
    }
  }
}
