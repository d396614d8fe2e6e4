/**
 * While this node's proving figure (the estimate, or its slowest recent proof with headroom) does not fit the
 * task's answer window it takes no duty (proving-budget.ts); this loop then measures a synthetic proof under the
 * current load, again every PROVING_REMEASURE_INTERVAL_MS, so the node takes duties again once its proofs fit.
 * Nothing is measured while the figure fits: nodes (re)started together would all prove at once, the very
 * contention that slows proofs.
 */
import type { Logger } from "pino";

/** How often a node whose proofs were too slow for the answer window measures again (ms): about a round. */
export const PROVING_REMEASURE_INTERVAL_MS = 60_000;
/** How often the node looks whether its proving figure fits the answer window (ms): a tick of a few reads. */
export const PROVING_CHECK_INTERVAL_MS = 5_000;

/** What the loop needs of the round participant. */
export interface ProvingSubject {
  /** False while the node's proving figure does not fit the task's answer window. */
  canAnswerInTime(): boolean;
  /** Proves a synthetic chunk and counts its time. */
  measureProving(): Promise<number>;
}

export class ProvingRemeasure {
  private timer: ReturnType<typeof setInterval> | undefined;
  private measuring = false;
  private measuredAt = 0;

  private readonly subject: () => ProvingSubject | undefined;
  private readonly log: Logger;

  /**
   * @param subject the round participant, once there is one
   * @param log where a failed measurement is reported
   */
  constructor(subject: () => ProvingSubject | undefined, log: Logger) {
    this.subject = subject;
    this.log = log;
  }

  start(): void {
    this.timer = setInterval(() => {
      const subject = this.subject();
      if (subject === undefined || subject.canAnswerInTime()) return;
      if (Date.now() - this.measuredAt < PROVING_REMEASURE_INTERVAL_MS) return;
      this.measuredAt = Date.now();
      void this.measure(subject);
    }, PROVING_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One synthetic proof at a time; a failure leaves the budget as it was. */
  private async measure(subject: ProvingSubject): Promise<void> {
    if (this.measuring) return;
    this.measuring = true;
    await subject
      .measureProving()
      .catch((error: unknown) => this.log.warn({ err: error }, "could not measure the proving time"))
      .finally(() => (this.measuring = false));
  }
}
