/**
 * The trainer's part of a buffered (FedBuff) task (task spec `rounds.mode: "fedbuff"`, docs/protocol.md §7,
 * "Buffered rounds"): a node does not restart when a round opens. Whenever it is free it trains from the latest model it holds (the
 * task's current one), and it commits the result into whichever round is open when it is done and still has room
 * (fewer than `bufferSize` trainers), naming the base it trained from; the aggregator discounts the update for
 * the model steps since that base (staleness.ts). A slow node's update thus lands a few rounds later, discounted,
 * where a synchronous round's commit window would have left it out.
 */
import type { Hex } from "viem";

import type { RoundContext, RoundView } from "./context.ts";
import type { TrainerWork } from "./round-work.ts";
import type { TrainedUpdate, Trainer } from "./trainer.ts";

/** What a buffered trainer does with an open round: commit into it, or why not. */
export type BufferedCommitDecision =
  "commit" | "nothing-ready" | "already-in" | "round-full" | "window-closed";

/** Whether a finished update goes into this open round (pure: the participant's tick decides with it). */
export function bufferedCommitDecision(
  ready: boolean,
  round: Pick<RoundView, "trainers" | "commitDeadline">,
  me: string,
  now: bigint,
  bufferSize: number,
): BufferedCommitDecision {
  if (!ready) return "nothing-ready";
  if (round.trainers.some((t) => t.toLowerCase() === me)) return "already-in";
  if (now > round.commitDeadline) return "window-closed";
  if (round.trainers.length >= bufferSize) return "round-full";
  return "commit";
}

export class BufferedTrainer {
  private readonly ctx: RoundContext;
  private readonly trainer: Trainer;
  private training = false;
  private committing = false;
  /** A finished update waiting for a round with room. */
  private pending: TrainedUpdate | undefined;
  /** The base of the last run: a node trains from each model once (a fast node then waits for the next model). */
  private lastBase: string | undefined;
  private runs = 0;

  constructor(ctx: RoundContext, trainer: Trainer) {
    this.ctx = ctx;
    this.trainer = trainer;
  }

  /** Every tick: starts a run from `latestRef` when idle and it holds that model (and has not trained from it). */
  trainLatest(latestRef: Hex): void {
    if (this.ctx.options.train === false || this.training || this.pending !== undefined) return;
    if (this.lastBase === latestRef.toLowerCase() || this.ctx.models.get(latestRef) === undefined) return;
    this.training = true;
    this.lastBase = latestRef.toLowerCase();
    this.runs += 1;
    void this.trainer
      .trainFrom(latestRef, undefined, this.runs)
      .then((trained) => {
        this.pending = trained;
        this.ctx.log.info({ base: latestRef, samples: trained.samples }, "buffered update ready");
      })
      .catch((error: unknown) => {
        // Tried again from the latest model on a later tick.
        this.lastBase = undefined;
        this.ctx.log.warn({ err: error }, "buffered training failed");
      })
      .finally(() => (this.training = false));
  }

  /** OPEN: commits the finished update into this round if it has room (at most once per round). */
  commitInto(roundId: bigint, round: RoundView, work: TrainerWork, now: bigint): void {
    const { bufferSize } = this.ctx.options.spec.rounds;
    const decision = bufferedCommitDecision(this.pending !== undefined, round, this.ctx.me, now, bufferSize);
    if (decision !== "commit" || this.committing || work.trainingStarted) return;
    const trained = this.pending!;
    this.pending = undefined;
    this.committing = true;
    work.trainingStarted = true;
    void this.trainer
      .commitTrained(roundId, work, trained)
      .catch((error: unknown) => {
        // Kept for the next tick (this round, or the next one with room).
        this.pending ??= trained;
        work.trainingStarted = false;
        this.ctx.log.warn({ err: error, roundId }, "buffered commit failed");
      })
      .finally(() => (this.committing = false));
  }

  /** Whether a finished update is waiting for a round (status, tests). */
  get ready(): boolean {
    return this.pending !== undefined;
  }
}
