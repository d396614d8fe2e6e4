/**
 * Task join: a proven task whose answer window cannot hold this node's proof and answer transaction is refused
 * (logged with the typed error): as its aggregator the node would be slashed for the first sampled chunk it
 * could not answer in time. Checked again on every tick while refused, so a node whose measured proofs (the
 * start-up measurement, `RoundParticipant.measureProving`) fit after all joins then.
 */
import type { Logger } from "pino";

import { AnswerWindowTooShortError } from "./proving-budget.ts";
import type { ProvingBudget } from "./proving-budget.ts";
import type { TaskView } from "./rounds-gateway-types.ts";

export class TaskJoin {
  private readonly budget: ProvingBudget;
  private readonly log: Logger;
  private checked = false;
  /** Why this node refused the task (undefined: it takes part, or has not seen the task yet). */
  refusal: AnswerWindowTooShortError | undefined;

  constructor(budget: ProvingBudget, log: Logger) {
    this.budget = budget;
    this.log = log;
  }

  /** Whether this node takes part in `task` now (logs the refusal once, and the join after a refusal). */
  joins(task: TaskView): boolean {
    if (this.checked && this.refusal === undefined) return true;
    const first = !this.checked;
    this.checked = true;
    try {
      this.budget.check(task);
      if (this.refusal !== undefined)
        this.log.info(
          { neededMs: Math.round(this.budget.neededMs()) },
          "joining the task: this node's measured proving time fits its answer window",
        );
      this.refusal = undefined;
    } catch (error) {
      if (!(error instanceof AnswerWindowTooShortError)) throw error;
      this.refusal = error;
      if (first)
        this.log.error(
          { err: error, answerWindowMs: error.answerWindowMs, neededMs: error.neededMs },
          "refusing the task: its answer window is shorter than this node's proving time",
        );
    }
    return this.refusal === undefined;
  }
}
