/**
 * One check per key at a time: a caller asking for a check already under way gets that check's result instead of
 * queueing a second one. The aggregator checks each pushed update against its on-chain commitment (0.35 s of
 * Poseidon for the MLP, commit-pool.ts), and a trainer whose acknowledgement came too late pushes the same bytes
 * again while the first check still waits in the queue: at 64 nodes, 23 of the round's 152 urgent commitments
 * were such repeats (bench:round --scale 64, docs/scaling.md, session 12).
 */
export class CheckOnce<T> {
  private readonly running = new Map<string, Promise<T>>();

  /** `check()`'s result, or the result of the one already running for `key`. */
  run(key: string, check: () => Promise<T>): Promise<T> {
    const running = this.running.get(key);
    if (running !== undefined) return running;
    const started = check().finally(() => this.running.delete(key));
    this.running.set(key, started);
    return started;
  }

  /** Checks under way (tests). */
  get size(): number {
    return this.running.size;
  }
}
