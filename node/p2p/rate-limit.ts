/**
 * Request-rate limits of the mesh protocols: one token bucket per key (a peer ID, a network prefix), so a busy
 * or hostile peer spends its own budget and never an honest peer's. Byte budgets of streams live in
 * node/resources/limits.ts; these count requests.
 */

/** `burst` requests at once, then one every `intervalMs`. */
export interface RateSpec {
  readonly burst: number;
  readonly intervalMs: number;
}

/** A token bucket: `burst` tokens, one more every `intervalMs`. */
export class TokenBucket {
  private tokens: number;
  private atMs: number;
  private readonly spec: RateSpec;

  constructor(spec: RateSpec, nowMs: number) {
    this.spec = spec;
    this.tokens = spec.burst;
    this.atMs = nowMs;
  }

  /** Takes one token, leaving at least `reserve` tokens behind; false when there are not enough. */
  take(nowMs: number, reserve = 0): boolean {
    this.refill(nowMs);
    if (this.tokens < 1 + reserve) return false;
    this.tokens -= 1;
    return true;
  }

  /** True when the bucket refilled completely: its key can be forgotten at no cost to anyone. */
  full(nowMs: number): boolean {
    return this.tokens + (nowMs - this.atMs) / this.spec.intervalMs >= this.spec.burst;
  }

  private refill(nowMs: number): void {
    this.tokens = Math.min(this.spec.burst, this.tokens + (nowMs - this.atMs) / this.spec.intervalMs);
    this.atMs = nowMs;
  }
}

/**
 * Most keys a limiter tracks. Over it, refilled buckets are forgotten first; if none has refilled (a flood of
 * fresh keys), the limiter refuses new keys rather than growing: memory stays bounded whatever the key count.
 */
export const MAX_TRACKED_KEYS = 4_096;

/** One bucket per key, created on first use and forgotten once refilled. */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly spec: RateSpec;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(spec: RateSpec, options: { maxKeys?: number; now?: () => number } = {}) {
    this.spec = spec;
    this.maxKeys = options.maxKeys ?? MAX_TRACKED_KEYS;
    this.now = options.now ?? Date.now;
  }

  /** Takes one token of `key`'s budget; false when it is spent (the caller refuses the request). */
  take(key: string): boolean {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) {
        for (const [other, b] of this.buckets) if (b.full(now)) this.buckets.delete(other);
        if (this.buckets.size >= this.maxKeys) return false;
      }
      bucket = new TokenBucket(this.spec, now);
      this.buckets.set(key, bucket);
    }
    return bucket.take(now);
  }

  get trackedKeys(): number {
    return this.buckets.size;
  }
}
