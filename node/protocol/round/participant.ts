/**
 * One node's part in the round protocol (docs/protocol.md §7), driven by the chain and carried over the
 * mesh. Each tick reads the task and its active round and hands what is due to the roles:
 *
 * OPEN         trainer: train from the round's base model, compress, commit (commitment + sample count)
 *              keeper, after the commit deadline: lockSelection, then selectAggregator with the seed
 *              block's header once it is mined
 * AGGREGATING  trainer: push the compressed update to the aggregator's peer over a stream
 *              aggregator: verify each update against its commitment, reject anomalous ones (weight 0),
 *              aggregate in fixed point, post the aggregate commitment and the new model's hash
 *              (sub-aggregator: the same through a tree of partial aggregates in hierarchical rounds)
 *              keeper, after the aggregate deadline: reportMissedAggregation
 * CHALLENGING  aggregator (else keeper): drawSamples once the sample seed block is mined
 *              aggregator: prove the challenged chunks and answer; watcher: check answered statements
 *              keeper: resolve challenges past their answer deadline (slashes), finalize after the window
 *
 * Every chain call is checked first (rounds-gateway.ts), so races between nodes cost no gas; a failure is
 * logged and retried on the next tick, never thrown out of the loop.
 */
import type { Address, Hex } from "viem";

import { roundAdversary } from "../../adversary/index.ts";
import { RoundState } from "../../chain/contracts.ts";
import { DEFAULT_QUORUM } from "../../scheduling/constants.ts";
import type { Dataset } from "../../training/data/dataset.ts";
import { createModel } from "../../training/architectures.ts";
import { groupsLedBy } from "../hierarchy.ts";
import { ModelStore } from "../models.ts";
import { AggregateWatcher } from "./aggregate-watcher.ts";
import { BufferedTrainer } from "./buffered-trainer.ts";
import { Aggregator } from "./aggregator.ts";
import { AggregationRecovery } from "./aggregation-recovery.ts";
import { ChallengeAnswers } from "./challenge-answers.ts";
import { DEFAULT_POLL_INTERVAL_MS, emptyTransferStats } from "./context.ts";
import type {
  ParticipantOptions,
  RoundContext,
  RoundOutcome,
  RoundProgress,
  RoundView,
  TransferStats,
} from "./context.ts";
import { Delivery } from "./delivery.ts";
import { GroupLinks } from "./group-links.ts";
import { Keeper } from "./keeper.ts";
import type { PartialLeader } from "./partial-commit.ts";
import { adoptPartial, partialLeaderOf } from "./partial-delivery.ts";
import { ModelSync, keepInitialModel } from "./model-sync.ts";
import { ProvingBudget } from "./proving-budget.ts";
import type { AnswerWindowTooShortError } from "./proving-budget.ts";
import { RoundData } from "./round-data.ts";
import { RoundMeshRouter } from "./round-mesh.ts";
import { RoundWorkStore, restartForNewAggregator, treeOf } from "./round-work.ts";
import type { RoundWork } from "./round-work.ts";
import { RoundsGateway } from "./rounds-gateway.ts";
import type { TaskView } from "./rounds-gateway-types.ts";
import { TaskJoin } from "./task-join.ts";
import { ReactionBudget } from "./reaction-budget.ts";
import { scheduleTicks } from "./tick-schedule.ts";
import { SitOut } from "./sit-out.ts";
import { SpecGate } from "./spec-check.ts";
import type { TaskSpecMismatchError } from "./spec-check.ts";
import { SubAggregator } from "./sub-aggregator.ts";
import { Claims } from "./claims.ts";
import { CurrentModelWatch } from "./current-model.ts";
import { Trainer } from "./trainer.ts";
import { Watcher } from "./watcher.ts";

export class RoundParticipant {
  readonly models = new ModelStore();
  readonly stats: TransferStats = emptyTransferStats();
  private readonly options: ParticipantOptions;
  private readonly ctx: RoundContext;
  private readonly work = new RoundWorkStore();
  private readonly chain: RoundsGateway;
  /** Models by ref: derived, replayed or fetched (`syncing()`: replaying the task's history). */
  readonly modelSync: ModelSync;
  /** Whether this node holds the task's current model (an aggregator without it cannot post, current-model.ts). */
  private readonly modelHeld = new CurrentModelWatch();
  private readonly trainer: Trainer;
  /** Buffered tasks (FedBuff): trains whenever free, commits into the open round (buffered-trainer.ts). */
  private readonly buffered: BufferedTrainer;
  private readonly aggregator: Aggregator;
  private readonly recovery: AggregationRecovery;
  private readonly answers: ChallengeAnswers;
  private readonly subAggregator: SubAggregator;
  private readonly watcher: Watcher;
  private readonly keeper: Keeper;
  /** A group task's leader: commits its finalized group rounds into the parent's round (partial-commit.ts). */
  private readonly partials: PartialLeader;
  /** Reclaims stranded bonds and claims credits once per closed round (claims.ts). */
  private readonly claims: Claims;
  private readonly delivery: Delivery;
  /** A small round's members' connections to each other (group-links.ts). */
  private readonly groupLinks: GroupLinks;
  private readonly data: RoundData;
  private readonly aggregateWatcher: AggregateWatcher;
  /** The task's first model, by content hash: drawn from the spec's seed, or a blob (an imported ONNX model's weights). */
  private readonly initialRef: Hex;
  /** This node's spec (its content address, task-spec-hash.ts) against the task's on chain (spec-check.ts). */
  private readonly specGate: SpecGate;
  /** This node's recent proving time against a proven task's answer window (proving-budget.ts). */
  private readonly provingBudget: ProvingBudget;
  /** Whether this node takes part in the task: its proofs fit the task's answer window (task-join.ts). */
  private readonly taskJoin: TaskJoin;
  /** This node's recent round ticks against the task's aggregate window (reaction-budget.ts). */
  private readonly reaction: ReactionBudget;
  /** Whether it takes new work now (proofs, ticks, a held reason), with notices once a minute (sit-out.ts). */
  private readonly sitOut: SitOut;
  /** Why this node takes no new work now (its disk is full); duties it already holds go on (`hold`). */
  private holdReason: string | undefined;
  /** Trainers of the last round seen: they open the next round first, in their order (keeper). */
  private lastTrainers: readonly string[] = [];
  /** The task's commit window (ms), as of the latest tick: what a head start's work is sized for. */
  private commitWindowMs = 0;
  private started = false;
  private ticking = false;
  /** Replaced on each start; the roles see the current signal through the context. */
  private readonly lifecycle = { abort: new AbortController() };

  constructor(options: ParticipantOptions) {
    this.options = options;
    const model = createModel(options.spec.model);
    this.specGate = SpecGate.of(options, model.layout.size);
    this.initialRef = keepInitialModel(model, options.spec.initSeed, this.models, options.store, options.log);
    this.chain = new RoundsGateway({ ...options, signal: () => this.lifecycle.abort.signal });
    this.provingBudget = new ProvingBudget(options.provingEstimateMs);
    this.taskJoin = new TaskJoin(this.provingBudget, options.log);
    this.reaction = new ReactionBudget(options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
    this.sitOut = new SitOut({ log: options.log, proving: this.provingBudget, reaction: this.reaction });
    const lifecycle = this.lifecycle;
    this.ctx = {
      options,
      me: options.wallet.account.address.toLowerCase(),
      paramSize: model.layout.size,
      chain: this.chain,
      models: this.models,
      adversary: roundAdversary(options.behaviour),
      stats: this.stats,
      log: options.log,
      get signal() {
        return lifecycle.abort.signal;
      },
    };
    const work = this.work;
    this.data = new RoundData(this.ctx);
    this.modelSync = new ModelSync(this.ctx, this.data);
    const delivery = new Delivery(this.ctx);
    this.delivery = delivery;
    this.groupLinks = new GroupLinks(this.ctx, delivery);
    this.keeper = new Keeper(this.ctx, () => this.reaction.tickGapMs());
    this.partials = partialLeaderOf(this.ctx, this.modelSync, (roundId) => this.work.get(roundId));
    this.claims = new Claims(this.ctx, work);
    this.aggregator = new Aggregator(this.ctx, {
      work,
      modelSync: this.modelSync,
      data: this.data,
      provingBudget: this.provingBudget,
      pathCosts: () => ({ tickGapMs: this.reaction.tickGapMs(), txMs: this.chain.slowTxMs }),
      chainClock: this.chain.clock,
    });
    this.recovery = new AggregationRecovery(this.ctx, {
      accept: (roundId, operator, bytes) => this.aggregator.acceptUpdate(roundId, operator, bytes),
      adopt: (roundId, round, aggregate) => this.modelSync.adopt(roundId, round, aggregate),
    });
    this.answers = new ChallengeAnswers(this.ctx, { provingBudget: this.provingBudget });
    this.trainer = new Trainer(this.ctx, {
      modelSync: this.modelSync,
      delivery,
      data: this.data,
      acceptOwn: (roundId, bytes, base) => this.aggregator.acceptOwn(roundId, bytes, base),
    });
    this.buffered = new BufferedTrainer(this.ctx, this.trainer);
    this.subAggregator = new SubAggregator(this.ctx, {
      work,
      aggregator: this.aggregator,
      delivery,
      modelSync: this.modelSync,
    });
    this.watcher = new Watcher(this.ctx, { keeper: this.keeper, trainer: this.trainer });
    this.aggregateWatcher = new AggregateWatcher(this.ctx, {
      data: this.data,
      modelSync: this.modelSync,
      keeper: this.keeper,
    });
    // One router per mesh: a node running a group task and its parent has two participants on one mesh (§7).
    RoundMeshRouter.of(options.mesh, options.log).attach({
      taskId: options.taskId,
      aggregator: this.aggregator,
      data: this.data,
      subAggregator: this.subAggregator,
      serve: (sha) => this.modelSync.serve(sha),
      roundTask: async (roundId) => (await this.chain.readRound(roundId)).taskId,
    });
  }

  /** The local training data. */
  get dataset(): Dataset {
    return this.options.data;
  }

  /** Parameters of the task's model (its chunk count is fixed on chain when the task is created). */
  get parameterCount(): number {
    return this.ctx.paramSize;
  }

  /** The model this task starts from: every node derives it from the spec, and its hash is the task's first modelRef. */
  get initialModelRef(): Hex {
    return this.initialRef;
  }

  get operator(): Address {
    return this.options.wallet.account.address;
  }

  /** Whether the participant is running (between `start` and `stop`). */
  get running(): boolean {
    return this.started;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.lifecycle.abort = new AbortController();
    const intervalMs = this.options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    scheduleTicks(() => this.tick(), intervalMs, this.lifecycle.abort.signal);
  }

  async stop(): Promise<void> {
    this.started = false;
    this.lifecycle.abort.abort();
    await this.chain.settled();
  }

  /** The model the task currently names, if this node has it. */
  async currentModel(): Promise<{ ref: Hex; params: Float32Array | undefined }> {
    const task = await this.readTask();
    return { ref: task.modelRef, params: this.models.get(task.modelRef) };
  }

  /**
   * Takes no new work while `reason` is set (undefined: takes part again): no training, so no commitment that
   * could get this node drawn as a fallback aggregator. What it already holds (an aggregation it was selected
   * for, challenges to answer, its committed update to deliver, keeper calls) goes on, from memory where a write
   * fails: stopping would turn a full disk into a missed aggregation or an unanswered challenge, both slashed.
   */
  hold(reason: string | undefined): void {
    this.holdReason = reason;
  }

  /** Fetches `ref` from peers (`preferred` first) unless we have it; verifies the hash. */
  ensureModel(ref: Hex, preferred?: Address): Promise<Float32Array | undefined> {
    return this.modelSync.ensureModel(ref, preferred);
  }

  readTask(blockNumber?: bigint): Promise<TaskView> {
    return this.chain.readTask(blockNumber);
  }

  readRound(roundId: bigint, blockNumber?: bigint): Promise<RoundView> {
    return this.chain.readRound(roundId, blockNumber);
  }

  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    const started = Date.now();
    try {
      // Decisions follow the chain `confirmations` blocks behind its head, so a reorg cannot make the node
      // act on state that disappears (0 on automining local chains, where no further block may come).
      const blockNumber = await this.chain.actionableBlock(this.options.confirmations ?? 0);
      // Independent reads of one block, side by side: a tick's reads are sequential round trips, and on a loaded
      // chain each one takes long (a tick's length is how late the node notices a selection, reaction-budget.ts).
      const [task, now] = await Promise.all([
        this.chain.readTask(blockNumber),
        this.chain.blockTimestamp(blockNumber),
      ]);
      // No task yet, or another spec than the task's (chunks, rule, proof mode or hash): not taking part.
      if (!this.specGate.admits(task) || !this.taskJoin.joins(task)) return;
      this.claims.onTask(task);
      this.reaction.setWindow(task.aggregateWindowS);
      this.commitWindowMs = Number(task.commitWindowS) * 1000;
      void this.modelSync.ensureModel(task.modelRef);
      const global = this.models.get(task.modelRef);
      if (global !== undefined) this.options.onGlobalModel?.(task.modelRef, global);
      if (this.modelHeld.note(global !== undefined)) this.options.onModelHeldChange?.();
      if (this.buffering && this.holdReason === undefined) this.buffered.trainLatest(task.modelRef);
      // Beside the round's duties, not before them: a slow parent read must not delay this round's.
      void this.partials.tick(blockNumber, now).catch((error: unknown) => {
        this.options.log.warn({ err: error }, "partial commit pass failed; retrying");
      });
      if (task.activeRound === 0n) {
        if (this.options.openRounds === true) await this.keeper.openRoundIfDue(task, now, this.lastTrainers);
        return;
      }
      this.data.setActiveRound(task.activeRound);
      const round = await this.chain.readRound(task.activeRound, blockNumber);
      this.lastTrainers = round.trainers;
      await this.advance(task.activeRound, round, now);
    } catch (error) {
      // Warn (the node's log limiter keeps one line a minute): a tick failing every time is a node doing nothing.
      this.options.log.warn({ err: error }, "round tick failed; retrying");
    } finally {
      this.ticking = false;
      this.reaction.record(Date.now() - started);
    }
  }

  /**
   * Whether this node can take a duty that may end in a proof now: its slowest recent proof plus the answer
   * transaction fits the task's answer window. False while contention makes its proofs slow: the node then
   * withdraws its aggregator opt-in (vain-node.ts) and does not commit (`advance`).
   */
  canAnswerInTime(): boolean {
    return this.taskJoin.refusal === undefined && this.provingBudget.fits();
  }

  /** What a duty takes this node now where it does not fit (ms; undefined: fits): an answer, a post in time. */
  shortfall(): Record<"answerNeedsMs" | "reactionNeedsMs" | "modelMissingMs", number | undefined> {
    return {
      answerNeedsMs: this.canAnswerInTime() ? undefined : this.provingBudget.neededMs(),
      reactionNeedsMs: this.reaction.fits() ? undefined : this.reaction.neededMs(),
      modelMissingMs: this.modelHeld.missingMs(),
    };
  }

  /**
   * Proves one synthetic chunk (an all-zero update of the task's model, weight 1) and counts its time: the
   * figure measured on this machine under its current load, for a node whose estimate or recent proofs do not
   * fit the answer window (vain-node.ts measures then, and again every minute until they fit).
   */
  async measureProving(): Promise<number> {
    const proveMs = await this.provingBudget.measure(this.ctx.paramSize, this.ctx.signal);
    this.options.log.info(
      { proofMs: Math.round(proveMs), neededMs: Math.round(this.provingBudget.neededMs()) },
      "proving time measured",
    );
    return proveMs;
  }

  /** Why this node refused the task: its spec, or at join (undefined: it takes part, or has not seen it yet). */
  get refusal(): TaskSpecMismatchError | AnswerWindowTooShortError | undefined {
    return this.specGate.mismatch ?? this.taskJoin.refusal;
  }

  /** The phase switch: what each role does in the round's current state. */
  private async advance(roundId: bigint, round: RoundView, now: bigint): Promise<void> {
    const work = this.work.for(roundId);
    const me = this.ctx.me;
    const myIndex = round.trainers.findIndex((t) => t.toLowerCase() === me);
    if (!work.restored) {
      work.restored = true;
      await this.restore(roundId, round, work, myIndex);
    }
    // A commit whose receipt this node missed, found in the round (its retries may never have asked the chain).
    if (myIndex >= 0) await this.trainer.adoptLandedCommit(roundId, round.commitments[myIndex]!, work);
    await this.keeper.reportEquivocations(roundId, this.data.equivocations(roundId), work, myIndex);
    await this.keeper.reportSignedConflicts(roundId, round, this.data.signedValues(roundId), work, myIndex);
    switch (round.state) {
      case RoundState.Open: {
        if (myIndex >= 0) work.committed = true;
        // A small round's members connect while it is open: whoever is drawn, pushes ride held connections.
        this.groupLinks.tick(roundId, round.trainers);
        if (now <= round.commitDeadline) {
          // A parent task's round takes partials only (§7): its trainers are group leaders, nobody trains here.
          if (myIndex >= 0 || round.partialsOnly || this.sitOut.check(roundId, this.holdReason)) return;
          if ((await this.options.groupGate?.refusal(this.options.taskId, roundId)) !== undefined) return;
          if (this.buffering) this.buffered.commitInto(roundId, round, work, now);
          else
            // The window left by the chain's time now (chain-clock.ts), not the tick's head: a slow tick has
            // already spent part of it, and a trainer sized to the rest commits in time.
            this.trainer.startTraining(
              roundId,
              round.baseModelRef,
              work,
              Number(round.commitDeadline - (this.chain.clock.now() ?? now)) * 1000,
            );
        } else await this.keeper.selectAggregator(roundId, now, work, myIndex);
        return;
      }
      case RoundState.Aggregating: {
        if (restartForNewAggregator(work, round.aggregator.toLowerCase()))
          this.ctx.log.warn(
            { roundId: roundId.toString(), aggregator: round.aggregator, trainer: myIndex >= 0 },
            round.aggregator.toLowerCase() === me
              ? `took over round ${roundId} as its backup aggregator: its aggregator missed the deadline`
              : `round ${roundId}'s aggregator missed the deadline; its backup ${round.aggregator} took over`,
          );
        this.groupLinks.tick(roundId, round.trainers);
        const tree = await treeOf(this.ctx, work, roundId, round);
        work.aggregatingSince ??= Date.now();
        const aggregator = round.aggregator.toLowerCase();
        // Announced first: our own delivery awaits its commitment check, queued behind others' (30 s at 32 nodes).
        if (aggregator === me || groupsLedBy(tree, me).length > 0) this.delivery.announce(roundId, work);
        if (myIndex >= 0) await this.trainer.deliver(roundId, tree, work, this.aggregator.waitMs);
        if (!work.aggregating && !work.posted) {
          work.aggregating = true;
          try {
            if (tree.hierarchical) await this.subAggregator.advance(roundId, round, work, tree, now);
            else if (aggregator === me) {
              this.recovery.pullStragglers(roundId, round, work, this.aggregator.waitMs);
              if (this.aggregator.ready(round, work, now, this.options.quorum ?? DEFAULT_QUORUM))
                await this.aggregator.aggregateAndPost(roundId, round, work);
            }
          } finally {
            work.aggregating = false;
          }
        }
        await this.keeper.reportMissedAggregation(roundId, round, now, work, myIndex);
        return;
      }
      case RoundState.Challenging: {
        const aggregator = round.aggregator.toLowerCase() === me;
        // A watcher derives the model from its own recompute (round-data.ts pushes it the updates, not the aggregate).
        if (aggregator || !this.aggregateWatcher.derivesModel(round, work, now))
          void this.modelSync.ensureModel(round.modelRef, round.aggregator);
        if (aggregator) await this.recovery.rebuild(roundId, round, work);
        if (aggregator) this.partials.led(roundId);
        // Draw first: the aggregator's own draw challenges the sampled chunks, and it proves them in this tick.
        await this.keeper.drawSamples(roundId, work, myIndex, aggregator);
        const challenges = await this.chain.pendingChallenges(roundId);
        if (aggregator) this.answers.answerChallenges(roundId, challenges, work);
        for (const challenge of challenges)
          await this.keeper.resolveUnansweredChallenge(roundId, challenge, now, work, myIndex);
        if (!aggregator) {
          await this.aggregateWatcher.watch(roundId, round, work, myIndex, now);
          await this.watcher.watchStatements(roundId, round, work, myIndex);
          this.aggregator.holdRevealed(roundId, round, myIndex >= 0 ? work.updateBytes : undefined);
        }
        // Nothing left to prove or challenge: train for the next round from this round's model (a head start).
        if (
          now > round.challengeDeadline &&
          challenges.length === 0 &&
          !this.buffering &&
          !round.partialsOnly &&
          !this.sitOut.blocks(this.holdReason)
        )
          this.trainer.startHeadStart(
            round.modelRef,
            this.commitWindowMs,
            Number((roundId + 1n) % 1_000_000n),
          );
        await this.keeper.finalizeRound(roundId, round, now, work, myIndex);
        return;
      }
      default:
        return;
    }
  }

  /** Whether the task's rounds are buffered (FedBuff) rather than synchronous. */
  private get buffering(): boolean {
    return this.options.spec.rounds.mode === "fedbuff";
  }

  /** Whether a buffered task's finished update waits for a round with room. */
  get bufferedUpdateReady(): boolean {
    return this.buffered.ready;
  }

  /** Holds a group's partial as this node's update in the parent task's round `roundId` (partial-delivery.ts). */
  adoptPartial(roundId: bigint, bytes: Uint8Array): Promise<void> {
    const components = { data: this.data, trainer: this.trainer, workFor: (id: bigint) => this.work.for(id) };
    return adoptPartial(this.ctx, components, roundId, bytes);
  }

  /** After a restart: reload (and serve again) our committed update and, as aggregator, what we received. */
  private async restore(roundId: bigint, round: RoundView, work: RoundWork, myIndex: number): Promise<void> {
    if (myIndex >= 0) await this.trainer.restoreOwnUpdate(roundId, work);
    if (myIndex >= 0 && work.updateBytes !== undefined)
      this.data.keepUpdate(roundId, round.commitments[myIndex]!, work.updateBytes);
    await this.recovery.restore(roundId, round, work);
  }

  /** Latest state of this node's work in a round, for status and the demo's table. */
  outcome(roundId: bigint): RoundOutcome | undefined {
    return this.work.outcome(roundId);
  }

  /** (epsilon, delta) this trainer has spent under the task's DP settings, or undefined without DP. */
  privacySpent(): { epsilon: number; delta: number; rounds: number } | undefined {
    return this.trainer.privacySpent();
  }

  /** What this node is doing in a round now, for drivers that wait for it to be done (demo/rounds.ts). */
  progress(roundId: bigint): RoundProgress {
    return this.aggregateWatcher.progress(this.work.get(roundId));
  }

  /** The compressed update this node committed in a round, if it trained in it. */
  ownUpdate(roundId: bigint): Uint8Array | undefined {
    return this.work.get(roundId)?.updateBytes;
  }

  /** Local optimizer steps this node would run in a commit window of `windowMs` (see `Trainer.plannedSteps`). */
  plannedSteps(windowMs: number): number | undefined {
    return this.trainer.plannedSteps(windowMs);
  }
}
