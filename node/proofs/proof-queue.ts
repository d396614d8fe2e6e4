/**
 * The process's proving slot: one Groth16 proof at a time, earliest answer deadline first.
 *
 * Why one at a time: the contract spaces a round's answer deadlines one answer window apart (RoundsStorage
 * `_openChallenge`: "the aggregator proves one chunk at a time and always has a full window for each"), so a
 * node that proves its challenges one after another in deadline order always has a whole window per proof.
 * Proving them side by side on the same cores makes every proof about as slow as all of them together, so the
 * first answer can miss a window its proof alone fits (k challenges at once: a deploy with `sampledChunks` > 1,
 * a chained round's cells, watchers' challenges beside the sample). The measured proving time
 * (proving-budget.ts) then also counts the siblings' work and keeps the node out of later duties.
 * A node running two tasks (a group and its parent, task-participants.ts) shares this one slot, as it shares
 * the cores.
 *
 * Why earliest deadline first: with one slot and known deadlines it misses none that any order could meet
 * (Jackson's rule). Work without a deadline (a synthetic measurement, a bench) waits behind every answer.
 */

/** How many proofs run at once in this process: one, for the reason above. */
export const PROOF_SLOTS = 1;

/** Options of one job in the queue. */
export interface ProofSlotOptions {
  /**
   * When its answer is due, in any unit shared by the jobs it competes with (the node uses the chain's answer
   * deadline in seconds); earlier runs first. Default: after every job with a deadline.
   */
  readonly deadline?: bigint;
  /** Aborting while the job waits removes it from the queue (rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

interface Waiting {
  readonly deadline: bigint | undefined;
  readonly order: number;
  readonly start: () => void;
}

/** Sort key: deadlines ascending, no deadline last, ties in arrival order. */
function before(a: Waiting, b: Waiting): boolean {
  if (a.deadline !== b.deadline) {
    if (a.deadline === undefined) return false;
    if (b.deadline === undefined) return true;
    return a.deadline < b.deadline;
  }
  return a.order < b.order;
}

export class ProofQueue {
  private readonly slots: number;
  private running = 0;
  private arrivals = 0;
  private readonly waiting: Waiting[] = [];

  constructor(slots: number = PROOF_SLOTS) {
    if (!Number.isInteger(slots) || slots < 1)
      throw new RangeError(`proof slots must be a positive integer, got ${slots}`);
    this.slots = slots;
  }

  /** Jobs waiting for the slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Jobs holding a slot now. */
  get active(): number {
    return this.running;
  }

  /** Runs `job` once a slot is free and every job due earlier has had it; its result or error is returned. */
  async run<T>(job: () => Promise<T>, options: ProofSlotOptions = {}): Promise<T> {
    const { signal } = options;
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const entry: Waiting = {
        deadline: options.deadline,
        order: this.arrivals++,
        start: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error("proof cancelled while queued"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(entry);
      this.next();
    });
    try {
      return await job();
    } finally {
      this.running -= 1;
      this.next();
    }
  }

  private next(): void {
    while (this.running < this.slots && this.waiting.length > 0) {
      let first = 0;
      for (let i = 1; i < this.waiting.length; i++)
        if (before(this.waiting[i]!, this.waiting[first]!)) first = i;
      const [entry] = this.waiting.splice(first, 1);
      this.running += 1;
      entry!.start();
    }
  }
}

/** The queue every proof of this process goes through (the cores are the process's, not a round's). */
export const proofQueue = new ProofQueue();
