/**
 * Whether this node takes new work (trains and commits) in a round, and why not, said at most once a minute per
 * reason: a long slow spell or a full disk would otherwise repeat the same warning every tick. A committed trainer
 * can be drawn as aggregator (no candidate opted in) or as its backup, so a node that could not act in time as one
 * does not commit: a round sat out costs a reward, a missed aggregation or answer costs stake.
 */
import type { Logger } from "pino";

import type { ProvingBudget } from "./proving-budget.ts";
import type { ReactionBudget } from "./reaction-budget.ts";

/** At most one notice of each kind per this interval (ms). */
const NOTICE_INTERVAL_MS = 60_000;

export interface SitOutInit {
  readonly log: Logger;
  /** Its recent proofs against the task's answer window. */
  readonly proving: ProvingBudget;
  /** Its recent round ticks against the task's aggregate window. */
  readonly reaction: ReactionBudget;
}

export class SitOut {
  private readonly init: SitOutInit;
  private readonly saidAt = new Map<"held" | "slow" | "sluggish", number>();

  constructor(init: SitOutInit) {
    this.init = init;
  }

  /** Whether the node takes no new work now (`holdReason`: the operator-visible reason it holds, e.g. a full disk). */
  blocks(holdReason: string | undefined): boolean {
    return holdReason !== undefined || !this.init.proving.fits() || !this.init.reaction.fits();
  }

  /** As `blocks`, saying why (once a minute per reason) in `roundId`. */
  check(roundId: bigint, holdReason: string | undefined): boolean {
    const { proving, reaction } = this.init;
    if (holdReason !== undefined)
      this.say(
        "held",
        { roundId: roundId.toString(), reason: holdReason },
        "not training this round: this node takes no new work until the reason is gone",
      );
    else if (!proving.fits())
      this.say(
        "slow",
        { roundId: roundId.toString(), neededMs: Math.round(proving.neededMs()) },
        "not committing: this node's recent proofs plus the answer transaction exceed the task's answer window (it could be drawn to aggregate and be slashed); it takes part again once its proofs are fast",
      );
    else if (!reaction.fits())
      this.say(
        "sluggish",
        {
          roundId: roundId.toString(),
          neededMs: Math.round(reaction.neededMs()),
          aggregateWindowMs: reaction.aggregateWindowMs,
        },
        "not committing: this node's recent round ticks are too slow to notice a selection and post within the task's aggregate window (it could be drawn to aggregate and be slashed; the machine or the chain endpoint is overloaded); it takes part again once its ticks are fast",
      );
    else return false;
    return true;
  }

  private say(kind: "held" | "slow" | "sluggish", fields: Record<string, unknown>, message: string): void {
    if (Date.now() - (this.saidAt.get(kind) ?? 0) < NOTICE_INTERVAL_MS) return;
    this.saidAt.set(kind, Date.now());
    this.init.log.warn(fields, message);
  }
}
