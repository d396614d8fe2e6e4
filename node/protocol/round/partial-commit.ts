/**
 * The group leader's partial (docs/protocol.md §7, hierarchical rounds proven at every level): the aggregator
 * of a group task's round, once that round has finalized (its aggregate proven by the round's own challenge
 * game, or its aggregator slashed and the round failed), commits the round's aggregate commitment into the
 * parent task's open round as its update (`commitPartial`). The chain checks everything again; this decides
 * when to try, so a leader neither spends gas on a call that must revert nor gives up on one that can still land.
 *
 * Waits while the group round is not closed, while the parent has no round open, and while the parent's round is
 * past its commit deadline (a parent round that fails leaves the parent's model as it was, so the next parent
 * round has the same base and takes the partial). Gives up for good when this node is not the group round's
 * aggregator, the group round failed, the parent's model moved on from the one the group trained (no later
 * parent round can take it), or this node already committed into the parent's round (one per address).
 */
import type { Address } from "viem";

import { RoundState } from "../../chain/contracts.ts";
import type { SendOutcome, TaskView } from "./rounds-gateway-types.ts";
import type { RoundStore } from "../round-store.ts";
import type { RoundView } from "./context.ts";

export type PartialStep =
  | { readonly kind: "commit"; readonly parentRoundId: bigint }
  /** Committed already (before a restart that lost the hand-off): give it to the parent's participant again. */
  | { readonly kind: "hand-off"; readonly parentRoundId: bigint }
  | { readonly kind: "wait"; readonly reason: string }
  | { readonly kind: "done"; readonly reason: string };

export interface PartialInputs {
  /** This node's operator address, lower case. */
  readonly me: string;
  readonly groupRound: Pick<RoundView, "state" | "aggregator" | "baseModelRef" | "aggregateCommitment">;
  readonly parentTask: Pick<TaskView, "modelRef" | "activeRound">;
  /** The parent's active round, undefined when none is active. */
  readonly parentRound:
    Pick<RoundView, "state" | "baseModelRef" | "commitDeadline" | "trainers" | "commitments"> | undefined;
  /** The chain's time (seconds) at the block the rounds were read at. */
  readonly now: bigint;
}

/** What a leader does next with its group round's partial (pure: the inputs are chain reads of one block). */
export function nextPartialStep({
  me,
  groupRound,
  parentTask,
  parentRound,
  now,
}: PartialInputs): PartialStep {
  if (groupRound.aggregator.toLowerCase() !== me)
    return { kind: "done", reason: "not the group round's aggregator" };
  if (groupRound.state === RoundState.Failed)
    return { kind: "done", reason: "the group round failed: it has no proven aggregate to commit" };
  if (groupRound.state !== RoundState.Finalized)
    return { kind: "wait", reason: "the group round has not finalized" };
  if (parentTask.modelRef !== groupRound.baseModelRef)
    return { kind: "done", reason: "the parent's model moved on from the one the group trained" };
  if (parentRound === undefined || parentTask.activeRound === 0n)
    return { kind: "wait", reason: "the parent task has no round open" };
  const mine = parentRound.trainers.findIndex((t) => t.toLowerCase() === me);
  // This very partial, committed before a restart between the commit and its hand-off: hand it off again.
  if (mine >= 0 && parentRound.commitments[mine] === groupRound.aggregateCommitment)
    return { kind: "hand-off", parentRoundId: parentTask.activeRound };
  if (mine >= 0)
    return { kind: "done", reason: "this node already committed into the parent's round (one per address)" };
  if (parentRound.state !== RoundState.Open || now > parentRound.commitDeadline)
    return {
      kind: "wait",
      reason: "the parent's round is past its commit phase; the next one has the same base",
    };
  return { kind: "commit", parentRoundId: parentTask.activeRound };
}

/** The chain calls the leader makes (RoundsGateway's). */
export interface PartialChain {
  readTaskById(taskId: bigint, blockNumber?: bigint): Promise<TaskView>;
  readRound(roundId: bigint, blockNumber?: bigint): Promise<RoundView>;
  trySend(functionName: "commitPartial", args: readonly [bigint, bigint]): Promise<SendOutcome>;
}

export interface PartialLeaderInit {
  readonly chain: PartialChain;
  /** This node's operator address. */
  readonly me: Address;
  /** The parent of the task this node runs (undefined: not a group task; the leader does nothing). */
  readonly parentTaskId: bigint | undefined;
  readonly log: {
    info(fields: object, message: string): void;
    debug(fields: object, message: string): void;
  };
  readonly onCommitted?: (groupRoundId: bigint, parentRoundId: bigint) => void;
  /** Where the pending partials survive a restart (the node's RoundStore); without it they are in memory only. */
  readonly store?: Pick<RoundStore, "savePendingPartials" | "loadPendingPartials">;
}

/** Reverts after which a partial is never tried again: the group round's partial, or this address, is in. */
const FINAL_REVERTS = ["PartialTaken", "AlreadyCommitted"];

/**
 * Commits the partials of the group rounds this node aggregated (`led`), each when `nextPartialStep` says so;
 * called on every participant tick. The pending ones are saved in the node's round store, so a leader restarted
 * between its group round's post and the partial commit still commits it.
 */
export class PartialLeader {
  private readonly init: PartialLeaderInit;
  private readonly pending = new Set<bigint>();
  private readonly me: string;
  private busy = false;
  /** The pending partials a previous run saved, read on the first tick. */
  private restored: Promise<void> | undefined;
  private saving: Promise<void> = Promise.resolve();

  constructor(init: PartialLeaderInit) {
    this.init = init;
    this.me = init.me.toLowerCase();
  }

  /** This node aggregated `groupRoundId` (posted its aggregate): commit its partial once it finalizes. */
  led(groupRoundId: bigint): void {
    if (this.init.parentTaskId === undefined || this.pending.has(groupRoundId)) return;
    this.pending.add(groupRoundId);
    this.save();
  }

  /** Saves the pending list after the saves before it (one at a time: an older list never lands last). */
  private save(): void {
    const store = this.init.store;
    if (store === undefined) return;
    const ids = [...this.pending];
    this.saving = this.saving
      .then(() => store.savePendingPartials(ids))
      .catch((error: unknown) => this.init.log.debug({ err: error }, "pending partials not saved"));
  }

  /** Resolves once every save so far has been written (or failed). */
  saved(): Promise<void> {
    return this.saving;
  }

  /** Group rounds whose partial this node still means to commit. */
  get waiting(): readonly bigint[] {
    return [...this.pending];
  }

  /** One pass over the pending partials at the chain's `blockNumber` (time `now`); one pass at a time. */
  async tick(blockNumber: bigint, now: bigint): Promise<void> {
    const parentTaskId = this.init.parentTaskId;
    if (parentTaskId === undefined || this.busy) return;
    this.busy = true;
    try {
      this.restored ??= this.init.store?.loadPendingPartials().then((ids) => {
        for (const id of ids) this.pending.add(id);
      });
      await this.restored;
      if (this.pending.size === 0) return;
      const { chain, log } = this.init;
      const parentTask = await chain.readTaskById(parentTaskId, blockNumber);
      const parentRound =
        parentTask.activeRound === 0n
          ? undefined
          : await chain.readRound(parentTask.activeRound, blockNumber);
      for (const groupRoundId of [...this.pending]) {
        const groupRound = await chain.readRound(groupRoundId, blockNumber);
        const step = nextPartialStep({ me: this.me, groupRound, parentTask, parentRound, now });
        const fields = { groupRoundId: String(groupRoundId), parentTaskId: String(parentTaskId) };
        if (step.kind === "wait") continue;
        if (step.kind === "hand-off") {
          this.forget(groupRoundId);
          log.info(
            { ...fields, parentRoundId: String(step.parentRoundId) },
            "the group's partial was committed before a restart: handing it to the parent's participant again",
          );
          this.init.onCommitted?.(groupRoundId, step.parentRoundId);
          continue;
        }
        if (step.kind === "done") {
          this.forget(groupRoundId);
          log.info({ ...fields, reason: step.reason }, "no partial to commit for this group round");
          continue;
        }
        const outcome = await chain.trySend("commitPartial", [step.parentRoundId, groupRoundId]);
        if (outcome.sent) {
          this.forget(groupRoundId);
          log.info({ ...fields, parentRoundId: String(step.parentRoundId) }, "committed the group's partial");
          this.init.onCommitted?.(groupRoundId, step.parentRoundId);
        } else if (FINAL_REVERTS.some((name) => outcome.reason.includes(name))) {
          this.forget(groupRoundId);
          log.info({ ...fields, reason: outcome.reason }, "the parent's round already holds this partial");
        } else if (outcome.reason.includes("NotGroupOf")) {
          // Led in a group this node has since left (a new group epoch drew it under another parent, §7): this
          // parent never takes it; retrying would only estimate a revert every tick until the model moves on.
          this.forget(groupRoundId);
          log.info(
            { ...fields, reason: outcome.reason },
            "this group round is not a group of the node's parent task",
          );
        } else log.debug({ ...fields, reason: outcome.reason }, "partial commit not sent; retrying");
      }
    } finally {
      this.busy = false;
    }
  }

  private forget(groupRoundId: bigint): void {
    this.pending.delete(groupRoundId);
    this.save();
  }
}
