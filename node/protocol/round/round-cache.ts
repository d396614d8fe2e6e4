/**
 * The rounds as peers' pushes need them, without a chain read per push. A pushed update, replica, aggregate or
 * partial is checked against its round (trainers and their commitments, the aggregator, the state); those
 * fields change only at a phase change (a commit, the selection, the post), so one read serves every push of
 * the phase. A push the cached round does not fit (a trainer that just committed, an aggregator just selected)
 * asks for one re-read, charged to the pushing peer's own budget: an admitted peer pushing for rounds that do
 * not exist, or as a trainer it is not, spends its budget, not the node's RPC budget, and gets the cached
 * (refusing) answer once it is spent. Issue #19: 7,048 `getRound` calls in 15 s from one peer's pushes before.
 */
import { KeyedRateLimiter } from "../../p2p/rate-limit.ts";
import type { RateSpec } from "../../p2p/rate-limit.ts";
import { MeshError } from "../../p2p/errors.ts";

/**
 * Chain re-reads one peer's pushes may cause. An honest peer causes one per phase change it races (its commit
 * mined just before its push); the burst covers a trainer pushing its update and replicas at once.
 */
export const ROUND_REFRESHES_PER_PEER: RateSpec = { burst: 4, intervalMs: 2_000 };
/** Rounds kept: the current one, the few before it that watchers still check, and room for a new one. */
export const ROUNDS_CACHED = 8;

export class RoundCache<R> {
  private readonly entries = new Map<bigint, R>();
  private readonly inflight = new Map<bigint, Promise<R>>();
  private readonly refreshes: KeyedRateLimiter;
  private readonly read: (roundId: bigint) => Promise<R>;
  /** Chain reads made (for metrics and the push-flood test). */
  reads = 0;
  /** Re-reads refused because the peer's budget was spent. */
  refusedRefreshes = 0;

  constructor(read: (roundId: bigint) => Promise<R>, refreshesPerPeer: RateSpec = ROUND_REFRESHES_PER_PEER) {
    this.read = read;
    this.refreshes = new KeyedRateLimiter(refreshesPerPeer);
  }

  /**
   * The round as cached when it `fits` the push of `requester` (a peer ID or operator); else re-read once, if
   * the requester's budget allows, and returned as read (the caller checks it again and refuses if it still
   * does not fit). Concurrent re-reads of one round share one call. Throws MeshError RATE_LIMITED only when the
   * round was never read and the requester's budget is spent.
   */
  async get(roundId: bigint, requester: string, fits: (round: R) => boolean): Promise<R> {
    const cached = this.entries.get(roundId);
    if (cached !== undefined && fits(cached)) return cached;
    const pending = this.inflight.get(roundId);
    if (pending !== undefined) return pending;
    if (!this.refreshes.take(requester.toLowerCase())) {
      this.refusedRefreshes += 1;
      if (cached !== undefined) return cached;
      throw new MeshError("RATE_LIMITED", "too many pushes for rounds this node has not read");
    }
    const read = this.fetch(roundId).finally(() => this.inflight.delete(roundId));
    this.inflight.set(roundId, read);
    return read;
  }

  /** Forgets a round (the node saw it change, e.g. its own post). */
  invalidate(roundId: bigint): void {
    this.entries.delete(roundId);
  }

  private async fetch(roundId: bigint): Promise<R> {
    this.reads += 1;
    const round = await this.read(roundId);
    this.entries.delete(roundId);
    this.entries.set(roundId, round);
    // Least recently read first: a round still pushed for is re-read sooner or later, the dropped ones are old.
    for (const old of this.entries.keys()) {
      if (this.entries.size <= ROUNDS_CACHED) break;
      this.entries.delete(old);
    }
    return round;
  }
}
