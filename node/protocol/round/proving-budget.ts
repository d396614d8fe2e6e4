/**
 * Whether this node can answer a proven task's challenges in time. An answer is one Groth16 proof plus its
 * transaction, and it must land within the task's answer window (fixed on chain when the task was created);
 * a node that cannot would be slashed for the first sampled chunk it fails to answer. So the node refuses a
 * proven task whose answer window is shorter than its proving time plus a transaction margin, and while its
 * figure does not fit it takes no duty that could end in a proof: it withdraws its aggregator opt-in and does
 * not commit (a trainer can be drawn as aggregator when no candidate had stake).
 *
 * The figure has headroom: the next proof can be slower than any recent one (a neighbour starts training, the
 * machine's load doubles), so the node counts its slowest recent proof times `PROVING_HEADROOM`. Without it, an
 * honest aggregator whose proofs had measured 20.5 s took a 30 s window at load 28, proved in 30 s, and was
 * slashed for a missed answer (soak, 2026-12-05).
 *
 * The figure tracks contention: it is the slowest of the last `RECENT_PROOFS_KEPT` proofs of the last
 * `RECENT_PROOFS_WINDOW_MS` (challenges
 * arrive when they arrive, not when the machine is idle), measured on real answers and, while the figure does
 * not fit, on a synthetic chunk (`RoundParticipant.measureProving`); older proofs age out, so a node slowed by a burst of load takes duties again once its
 * proofs are fast again. The soak (issue #25) saw one proof go from 4 s to 51 s while two neighbours restarted.
 */
import { encodeFixedPoint, proofQueue, proveChunk } from "../../proofs/index.ts";
import { ANSWER_TX_MARGIN_MS, DEFAULT_PROVING_ESTIMATE_MS } from "./context.ts";

/**
 * How much slower than its slowest recent proof the next one may be and still be answered in time: the soak saw
 * a 20.5 s proof become 30 s (×1.46) when the load rose from 19 to 28. Windows are chosen with this in mind
 * (DEFAULT_ANSWER_WINDOW_S: 120 s holds a 77 s proof).
 */
export const PROVING_HEADROOM = 1.5;

/** Proofs older than this no longer count (ms): long enough to span several rounds of a contention burst. */
export const RECENT_PROOFS_WINDOW_MS = 10 * 60_000;
/**
 * At most this many recent proofs are kept (the slowest of them counts): three fast proofs in a row (real ones, or
 * the minute-apart measurements of a node sitting out) outweigh one slow one. With 16 kept, one 38 s proof kept
 * soak nodes (3-4 s proofs since) out of every round for ten minutes on a machine whose load swung from 8 to 19.
 */
export const RECENT_PROOFS_KEPT = 3;

/** A proven task's answer window cannot hold this node's proof and its answer transaction. */
export class AnswerWindowTooShortError extends Error {
  override readonly name = "AnswerWindowTooShortError";
  readonly code = "ANSWER_WINDOW_TOO_SHORT";
  readonly answerWindowMs: number;
  readonly neededMs: number;

  constructor(answerWindowMs: number, neededMs: number) {
    super(
      `the task's answer window (${answerWindowMs / 1000} s) is shorter than this node needs to prove a ` +
        `challenged chunk and send the answer (${Math.ceil(neededMs / 1000)} s): aggregating it would be ` +
        `slashed for a missed answer`,
    );
    this.answerWindowMs = answerWindowMs;
    this.neededMs = neededMs;
  }
}

/** The task rules the check reads (TaskView). */
export interface ProvenTaskRules {
  readonly proven: boolean;
  readonly answerWindowS: bigint;
}

export class ProvingBudget {
  /** Proofs of the recent window: wall time (ms) and when they ended (epoch ms). */
  private recent: { readonly ms: number; readonly at: number }[] = [];
  /** What counts with no recent proof: the estimate, then the last proof measured. */
  private baselineMs: number;
  /** The answer window of the task last checked (ms); undefined before a check or for an unproven task. */
  private answerWindowMs: number | undefined;
  private readonly now: () => number;

  /**
   * @param estimateMs this node's time to prove one chunk before it has measured one
   * @param now the clock (tests move it)
   */
  constructor(estimateMs: number = DEFAULT_PROVING_ESTIMATE_MS, now: () => number = Date.now) {
    if (!Number.isFinite(estimateMs) || estimateMs < 0)
      throw new RangeError(`proving estimate must be a non-negative number of ms, got ${estimateMs}`);
    this.baselineMs = estimateMs;
    this.now = now;
  }

  /**
   * Proves one synthetic chunk (an all-zero update of `paramSize` parameters, weight 1) and records its time:
   * the figure measured on this machine under its current load (RoundParticipant.measureProving).
   */
  async measure(paramSize: number, signal: AbortSignal): Promise<number> {
    const zero = encodeFixedPoint(new Float32Array(paramSize));
    // Behind every answer due (proof-queue.ts): a measurement has no deadline, and proving beside an answer
    // would slow both and measure the sum.
    const proof = await proofQueue.run(() => proveChunk(0n, 0, [zero], [1], { signal }), { signal });
    this.record(proof.proveMs);
    return proof.proveMs;
  }

  /**
   * Counts a proof this node made (its wall time, as `proveChunk` measured it). Returns false when an answer
   * no longer fits the checked task's answer window with it.
   */
  record(proveMs: number): boolean {
    if (Number.isFinite(proveMs) && proveMs >= 0) {
      this.recent.push({ ms: proveMs, at: this.now() });
      this.recent = this.recent.slice(-RECENT_PROOFS_KEPT);
      this.baselineMs = proveMs;
    }
    return this.fits();
  }

  /**
   * What an answer must be given: the slowest recent proof (or the baseline) with PROVING_HEADROOM, plus the
   * transaction margin.
   */
  neededMs(): number {
    const since = this.now() - RECENT_PROOFS_WINDOW_MS;
    this.recent = this.recent.filter((proof) => proof.at >= since);
    const slowest = this.recent.length === 0 ? this.baselineMs : Math.max(...this.recent.map((p) => p.ms));
    return slowest * PROVING_HEADROOM + ANSWER_TX_MARGIN_MS;
  }

  /** Whether an answer fits the checked task's answer window now (true before a check, or when unproven). */
  fits(): boolean {
    return this.answerWindowMs === undefined || this.neededMs() <= this.answerWindowMs;
  }

  /** Throws AnswerWindowTooShortError for a proven task whose answer window cannot hold an answer now. */
  check(task: ProvenTaskRules): void {
    this.answerWindowMs = task.proven ? Number(task.answerWindowS) * 1000 : undefined;
    if (this.answerWindowMs === undefined) return;
    const needed = this.neededMs();
    if (this.answerWindowMs < needed) throw new AnswerWindowTooShortError(this.answerWindowMs, needed);
  }
}
