/**
 * Whether this node can answer a proven task's challenges in time. An answer is one Groth16 proof plus its
 * transaction, and it must land within the task's answer window (fixed on chain when the task was created);
 * a node that cannot would be slashed for the first sampled chunk it fails to answer. So the node refuses, at
 * task join, a proven task whose answer window is shorter than its proving time plus a transaction margin,
 * and keeps its figure honest with every proof it makes (the slowest one counts: challenges arrive when they
 * arrive, not when the machine is idle).
 */
import { ANSWER_TX_MARGIN_MS, DEFAULT_PROVING_ESTIMATE_MS } from "./context.ts";

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
  private slowestMs: number;
  /** The answer window of the task last checked (ms); undefined before a check or for an unproven task. */
  private answerWindowMs: number | undefined;

  /** @param estimateMs this node's time to prove one chunk before it has measured one */
  constructor(estimateMs: number = DEFAULT_PROVING_ESTIMATE_MS) {
    if (!Number.isFinite(estimateMs) || estimateMs < 0)
      throw new RangeError(`proving estimate must be a non-negative number of ms, got ${estimateMs}`);
    this.slowestMs = estimateMs;
  }

  /**
   * Counts a proof this node made (its wall time, as `proveChunk` measured it). Returns false when an answer
   * no longer fits the checked task's answer window with it (the caller warns: the join decision stands).
   */
  record(proveMs: number): boolean {
    if (Number.isFinite(proveMs) && proveMs > this.slowestMs) this.slowestMs = proveMs;
    return this.answerWindowMs === undefined || this.neededMs() <= this.answerWindowMs;
  }

  /** What an answer takes: the slowest proof (estimated or measured) plus the transaction margin. */
  neededMs(): number {
    return this.slowestMs + ANSWER_TX_MARGIN_MS;
  }

  /** Throws AnswerWindowTooShortError for a proven task whose answer window cannot hold an answer. */
  check(task: ProvenTaskRules): void {
    if (!task.proven) return;
    const answerWindowMs = Number(task.answerWindowS) * 1000;
    this.answerWindowMs = answerWindowMs;
    const needed = this.neededMs();
    if (answerWindowMs < needed) throw new AnswerWindowTooShortError(answerWindowMs, needed);
  }
}
