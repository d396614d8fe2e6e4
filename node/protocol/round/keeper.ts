/**
 * The permissionless duties that keep rounds moving: open the task's next round when it is due, lock, then
 * select the aggregator after the commit deadline (the seed is a later block's prevrandao), draw a proven
 * aggregate's samples once their seed block is mined,
 * report a missed aggregation, resolve a challenge left unanswered (which slashes the aggregator), finalize
 * after the challenge and dispute windows. Any node may do each; `dutyDue` staggers them so one does.
 */
import { setTimeout as delay } from "node:timers/promises";

import { PROOF_TRAINERS } from "../../proofs/index.ts";
import {
  DEFAULT_DUTY_BACKOFF_MS,
  SELECT_AFTER_LOCK_POLL_MS,
  SELECT_AFTER_LOCK_POLLS,
  DUTY_BACKOFF_CAP_MS,
} from "./context.ts";
import type { RoundContext, RoundView } from "./context.ts";
import type { DutyWork } from "./round-work.ts";
import type { TaskView } from "./rounds-gateway-types.ts";
import { commitmentPair, samePair } from "./signatures.ts";
import type { Equivocation, SignedPair, SignedValue } from "./signatures.ts";

export class Keeper {
  private readonly ctx: RoundContext;
  /** Back-off clock for opening the round after `roundCount` (no round exists yet to hold it). */
  private readonly opening: DutyWork = { dueSince: new Map() } as unknown as DutyWork;

  /** This node's longest expected time between two round ticks (ms; reaction-budget.ts), 0 if unmeasured. */
  private readonly tickGapMs: () => number;

  constructor(ctx: RoundContext, tickGapMs: () => number = () => 0) {
    this.ctx = ctx;
    this.tickGapMs = tickGapMs;
  }

  /**
   * Permissionless duties (select the aggregator, draw the samples, finalize, report a miss, resolve a challenge)
   * are open to every node; if all raced, all but one transaction would revert and waste gas. The round's first
   * trainer acts at once, the other trainers back off by their position, everyone else only if nobody did. The
   * step is the node's measured one (`backoffStepMs`), or the configured one for a duty whose window is short
   * (`pace: "configured"`: a watcher's challenge of a wrong chunk, where a late one lets a cheat finalize).
   */
  dutyDue(
    work: DutyWork,
    duty: string,
    trainerIndex: number,
    pace: "measured" | "configured" = "measured",
  ): boolean {
    const since = work.dueSince.get(duty) ?? Date.now();
    work.dueSince.set(duty, since);
    const configured = this.ctx.options.dutyBackoffMs ?? DEFAULT_DUTY_BACKOFF_MS;
    const step = pace === "configured" ? configured : this.backoffStepMs();
    const delay =
      trainerIndex >= 0 ? trainerIndex * step : (PROOF_TRAINERS + 1) * step + Math.random() * step;
    return Date.now() - since >= delay;
  }

  /**
   * The back-off step between two nodes' turns at a duty (ms): the configured step, or this node's measured tick
   * gap when that is longer (at most DUTY_BACKOFF_CAP_MS). With 2 s steps and ticks of tens of seconds every member
   * was due by its second tick and sent at once: 1,000 trainers in 4 hosts, 228 of 293 locks reverted in 52 chain s,
   * each a block that spent the seed's 256 (session 22, 5d7be19 for the selection); then 1,993 of 2,370
   * `drawSamples` reverted (session 23), the same herd on the next duty, so every duty takes the step now.
   */
  private backoffStepMs(): number {
    const configured = this.ctx.options.dutyBackoffMs ?? DEFAULT_DUTY_BACKOFF_MS;
    return Math.min(DUTY_BACKOFF_CAP_MS, Math.max(configured, this.tickGapMs()));
  }

  /**
   * No round is active: open the next one once the task is due and funded, so a network of default nodes
   * trains round after round with nobody running `round open`. Order as for the other duties: the previous
   * round's trainers by position (one of them acts at once), every other node after them; the chain refuses
   * all openings but the first (`RoundStillActive`), and `sendIfValid` simulates before it sends.
   */
  async openRoundIfDue(task: TaskView, now: bigint, previousTrainers: readonly string[]): Promise<void> {
    if (!task.exists || task.closed || task.rewardPoolWei === 0n || now < task.nextOpenTime) return;
    const key = `open-${task.roundCount}`;
    if (!this.opening.dueSince.has(key)) this.opening.dueSince.clear();
    const index = previousTrainers.findIndex((t) => t.toLowerCase() === this.ctx.me);
    if (this.dutyDue(this.opening, key, index))
      await this.ctx.chain.sendIfValid("openRound", [this.ctx.options.taskId]);
  }

  /**
   * After the commit deadline: lock the selection (which also closes a round past its selection window),
   * then, once the seed block is mined, select with its header and the locked candidate list.
   */
  async selectAggregator(roundId: bigint, now: bigint, work: DutyWork, myIndex: number): Promise<void> {
    const step = await this.ctx.chain.nextSelectionStep(roundId, now);
    // The back-off step is at least one of this node's tick gaps: with 2 s steps and ticks of tens of seconds every
    // member was due by its second tick and locked at once (1,000 trainers in 4 hosts, 2cfd6b5: 228 of 293 locks
    // reverted in 52 chain s, each a block, which spent the seed's 256 blocks before the locker's select landed).
    // Logged at info: at 128 nodes the time from the last commit to the first delivery (4 min) was not split
    // between selection and delivery (#21).
    if (step.kind === "lock") {
      if (
        this.dutyDue(work, "lock", myIndex) &&
        (await this.ctx.chain.sendIfValid("lockSelection", [roundId]))
      ) {
        this.ctx.log.info({ roundId }, "selection locked");
        await this.selectAfterLock(roundId, now);
      }
    } else if (step.kind === "select" && this.dutyDue(work, "select", myIndex)) {
      if (await this.ctx.chain.sendIfValid("selectAggregator", step.args))
        this.ctx.log.info({ roundId }, "aggregator selected");
    }
  }

  /**
   * The node that locked selects in the same tick, once the seed block is mined, rather than a tick later: the
   * seed's header is usable for 256 blocks only, and where every transaction mines its own block that is not long.
   * At 1,000 trainers in 4 host processes (2026-12-07) the locks of 63 leaf rounds raced (269 of 333 lock
   * transactions reverted, each in a block of its own): 523 blocks passed in 57 chain seconds after a lock, ticks
   * were slower than that, no keeper selected within the window, each round was locked again up to five times, and
   * 50 of 63 leaf rounds expired unselected.
   */
  private async selectAfterLock(roundId: bigint, now: bigint): Promise<void> {
    for (let attempt = 0; attempt < SELECT_AFTER_LOCK_POLLS; attempt++) {
      if (this.ctx.signal.aborted) return;
      const step = await this.ctx.chain.nextSelectionStep(roundId, now);
      if (step.kind === "lock") return; // selected by another node, closed, or expired: the next tick decides
      if (step.kind === "select") {
        if (await this.ctx.chain.sendIfValid("selectAggregator", step.args))
          this.ctx.log.info({ roundId }, "aggregator selected");
        return;
      }
      await delay(SELECT_AFTER_LOCK_POLL_MS, undefined, { signal: this.ctx.signal }).catch(() => undefined);
    }
  }

  /**
   * A proven aggregate's samples, once their seed block is mined. The aggregator draws at once (it must
   * answer them; a late draw only delays its reward); the others back off as for every duty.
   */
  async drawSamples(roundId: bigint, work: DutyWork, myIndex: number, isAggregator: boolean): Promise<void> {
    const args = await this.ctx.chain.nextDrawArgs(roundId);
    if (args === undefined) return;
    if (isAggregator || this.dutyDue(work, "draw", myIndex))
      await this.ctx.chain.sendIfValid("drawSamples", args);
  }

  /**
   * After the aggregation deadline with nothing posted, the aggregator is slashed and its backup takes over
   * with a full window (the round fails when there is no backup). The backup reports at once, directly: it
   * wants the duty, not the reporter share, and every second it waits is taken from the bounded schedule.
   * Other keepers report the front-running-proof way, one back-off step later than usual so the backup
   * usually wins; a report that lost the race fails its simulation and costs nothing.
   */
  async reportMissedAggregation(
    roundId: bigint,
    round: RoundView,
    now: bigint,
    work: DutyWork,
    myIndex: number,
  ): Promise<void> {
    if (now <= round.aggregateDeadline) return;
    const duty = `missed-${round.aggregator.toLowerCase()}`;
    const backup = await this.ctx.chain.backupOf(roundId);
    if (backup === this.ctx.me) {
      if (this.dutyDue(work, duty, 0)) await this.ctx.chain.sendIfValid("reportMissedAggregation", [roundId]);
      return;
    }
    const order = backup === undefined || myIndex < 0 ? myIndex : myIndex + 1;
    if (this.dutyDue(work, duty, order)) await this.ctx.chain.report("reportMissedAggregation", [roundId]);
  }

  /** A challenge past its answer deadline slashes the aggregator. */
  async resolveUnansweredChallenge(
    roundId: bigint,
    challenge: { chunk: number; answerDeadline: bigint },
    now: bigint,
    work: DutyWork,
    myIndex: number,
  ): Promise<void> {
    if (now > challenge.answerDeadline && this.dutyDue(work, `resolve-${challenge.chunk}`, myIndex))
      await this.ctx.chain.report("resolveUnansweredChallenge", [roundId, BigInt(challenge.chunk)]);
  }

  /**
   * After the challenge window, with answers' statements past their dispute window and nothing pending. A node
   * that opens rounds and finalized this one opens the next at once when it is due (a task without a round
   * interval): otherwise every node saw "no active round" a tick later and the first in line opened it then, one
   * tick of every round spent between two rounds. A next round not due yet fails its simulation and costs nothing.
   */
  async finalizeRound(
    roundId: bigint,
    round: RoundView,
    now: bigint,
    work: DutyWork,
    myIndex: number,
  ): Promise<void> {
    if (
      now > round.challengeDeadline &&
      now > round.disputeDeadline && // answers' statements stay disputable until then
      round.pendingChallenges === 0 &&
      this.dutyDue(work, "finalize", myIndex) &&
      (await this.ctx.chain.sendIfValid("finalizeRound", [roundId])) &&
      this.ctx.options.openRounds === true
    )
      await this.ctx.chain.sendIfValid("openRound", [this.ctx.options.taskId]);
  }

  /**
   * Reports each equivocation this node holds both signatures of (never its own: a node does not act
   * against its own stake). A report another node made first fails its simulation and is dropped.
   */
  async reportEquivocations(
    roundId: bigint,
    equivocations: readonly Equivocation[],
    work: DutyWork,
    myIndex: number,
  ): Promise<void> {
    for (const { signer, kind, a, b } of equivocations) {
      const key = `${signer}/${kind}`;
      if (signer === this.ctx.me || work.reported.has(key)) continue;
      if (!this.dutyDue(work, `equivocation-${key}`, myIndex)) continue;
      work.reported.add(key);
      const reported = await this.ctx.chain.report("reportEquivocation", [
        roundId,
        kind === "Aggregate",
        a.pair,
        a.signature,
        b.pair,
        b.signature,
      ]);
      if (reported)
        this.ctx.log.warn({ roundId, signer, kind }, "reported an equivocation: the signer is slashed");
    }
  }

  /**
   * Reports each signed value that differs from what its signer put on chain in this round (a trainer's
   * commitment or sample count, the posted aggregate): one signature is enough evidence
   * (`reportSignedConflict`). Shares the once-per-signer bookkeeping with `reportEquivocations`.
   */
  async reportSignedConflicts(
    roundId: bigint,
    round: RoundView,
    signed: readonly { signer: string; value: SignedValue }[],
    work: DutyWork,
    myIndex: number,
  ): Promise<void> {
    for (const { signer, value } of signed) {
      const key = `${signer}/${value.kind}`;
      if (signer === this.ctx.me || work.reported.has(key)) continue;
      const onChain = onChainPair(round, signer, value.kind);
      if (onChain === undefined || samePair(onChain, value.pair)) continue;
      if (!this.dutyDue(work, `conflict-${key}`, myIndex)) continue;
      work.reported.add(key);
      const reported = await this.ctx.chain.report("reportSignedConflict", [
        roundId,
        value.kind === "Aggregate",
        value.pair,
        value.signature,
      ]);
      if (reported)
        this.ctx.log.warn(
          { roundId, signer, kind: value.kind },
          "reported a signature that contradicts the chain",
        );
    }
  }
}

/** What `signer` put on chain in `round` for a message of `kind`, if it did. */
function onChainPair(round: RoundView, signer: string, kind: SignedValue["kind"]): SignedPair | undefined {
  if (kind === "Aggregate") {
    if (!round.posted || round.aggregator.toLowerCase() !== signer) return undefined;
    return [round.aggregateCommitment, round.modelRef];
  }
  const index = round.trainers.findIndex((t) => t.toLowerCase() === signer);
  if (index < 0) return undefined;
  return commitmentPair(round.commitments[index]!, BigInt(round.sampleCounts[index]!));
}
