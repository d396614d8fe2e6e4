/**
 * How many copies of one blob a node hands out per window (issue #21: the busiest node's upload). A round's
 * aggregate spreads from its holders (model-sync.ts): every node that holds it serves it, and each asker takes
 * the first holder that answers. Without a bound, a holder served every peer that asked it first, which is its
 * connection count (at 64 nodes one node handed out 9 copies, 89.9 KB; connections are not capped by the mesh's
 * target degree, inbound ones add to it). With one, an asker refused by a spent holder tries the next peer, and
 * every copy handed out makes one more holder, so the aggregate still spreads in about log_{copies}(N) ticks.
 * The window makes it a rate, not a lifetime limit: a node joining later that replays the task's history still
 * finds holders of old aggregates.
 */

/**
 * Copies of one aggregate a holder hands out per window: one more than the aggregator's seeds
 * (AGGREGATE_SEED_PEERS = 3). Holders can then grow five-fold a tick (3, 15, 75, 375), inside the 4 ticks a node
 * looks among its peers before it asks the aggregator (model-sync.ts AGGREGATOR_FETCH_GRACE_TICKS).
 */
export const AGGREGATE_COPIES_PER_HOLDER = 4;
/**
 * The window of that budget (ms): a round's aggregate spreads within its first ticks (4 ticks of up to 16 s at
 * 512 nodes), and the next round's is another blob with a budget of its own.
 */
export const AGGREGATE_COPY_WINDOW_MS = 60_000;
/** Blobs whose budgets are remembered at once (older ones are forgotten first: they may serve again). */
const MAX_TRACKED = 256;

export class CopyBudget {
  private readonly copies: number;
  private readonly windowMs: number;
  /** Per blob: when its window opened (ms) and the copies handed out in it. Insertion order = oldest first. */
  private readonly spent = new Map<string, { since: number; count: number }>();

  constructor(copies: number = AGGREGATE_COPIES_PER_HOLDER, windowMs: number = AGGREGATE_COPY_WINDOW_MS) {
    this.copies = copies;
    this.windowMs = windowMs;
  }

  /** Takes one copy of `key` if its budget allows: true when the copy may be handed out. */
  take(key: string, now: number = Date.now()): boolean {
    let entry = this.spent.get(key);
    if (entry === undefined || now - entry.since >= this.windowMs) {
      this.spent.delete(key);
      if (this.spent.size >= MAX_TRACKED) this.spent.delete(this.spent.keys().next().value!);
      entry = { since: now, count: 0 };
      this.spent.set(key, entry);
    }
    if (entry.count >= this.copies) return false;
    entry.count += 1;
    return true;
  }
}
