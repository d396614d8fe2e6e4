/**
 * The trainer's part of a round: train from the round's base model (as many steps as this node's measured
 * speed fits in the commit window), compress, commit the update's commitment and sample count on chain, and
 * push the update to the aggregator (or, in hierarchical rounds, to its sub-aggregator, falling back to the
 * round's aggregator when that one cannot be reached in time).
 */
import type { Address, Hex } from "viem";

import type { OptimizerState } from "../../training/engine.ts";
import {
  OptimizerStateFileError,
  decodeOptimizerState,
  encodeOptimizerState,
} from "../../training/optimizer-state-file.ts";
import { optimizerSpecSchema, optimizerStateNames } from "../../training/train-graph.ts";
import { RdpAccountant } from "../../privacy/differential-privacy.ts";
import {
  UpdateDecodeError,
  decodeCompressorState,
  encodeCompressorState,
  encodeUpdate,
  taskCompressor,
} from "../../compression/index.ts";
import type { TopKCompressor } from "../../compression/index.ts";
import { MAX_WEIGHT } from "../../proofs/index.ts";
import type { UpdateCommitment } from "../../proofs/index.ts";
import { DEADLINE_OVERHEAD_MS, DEADLINE_SLACK } from "../../scheduling/constants.ts";
import type { RoundTree } from "../hierarchy.ts";
import { commitUpdateBytes, trainerDelta } from "../update.ts";
import type { RoundContext } from "./context.ts";
import type { Delivery } from "./delivery.ts";
import type { ModelSync } from "./model-sync.ts";
import type { RoundData } from "./round-data.ts";
import type { AggregatorWork, TrainerWork } from "./round-work.ts";
import { roundTrainingJob } from "./training-job.ts";
import { CommitNotAcceptedError, committedOnChain } from "./unsent-commit.ts";
import { pushUpdate, uploadTarget } from "./update-push.ts";
import type { UnsentCommit } from "./unsent-commit.ts";

/** Weight of the newest training run in the speed estimate (an EWMA: recent load matters most). */
const SPEED_EWMA_WEIGHT = 0.3;
/** Commit transactions remembered for the commit-time estimate (the slowest of them counts). */
const COMMIT_TX_SAMPLES = 5;
/**
 * Rounds in a row a node sits out on its own speed and commit-time estimates before it trains anyway (one step
 * at least). The estimates are refreshed only by training and committing, so without a cap one bad measurement
 * (a commit that took 30 s through an RPC outage) kept every node of the quick soak out of every later round.
 */
const MAX_CONSECUTIVE_SIT_OUTS = 2;

export interface TrainerComponents {
  readonly modelSync: ModelSync;
  readonly delivery: Delivery;
  readonly data: RoundData;
  /** Takes this node's own update when it aggregates it itself. */
  readonly acceptOwn: (roundId: bigint, bytes: Uint8Array, base?: Hex) => Promise<void>;
}

/** A local training run's result, before it is compressed and committed. */
export interface TrainedUpdate {
  /** The model it was trained from. */
  readonly baseRef: Hex;
  /** local − base (DP-noised when the task says so). */
  readonly delta: Float32Array;
  /** Its weight: samples processed, at most the local dataset and MAX_WEIGHT. */
  readonly samples: number;
  readonly meanLoss: number;
}

/** A head start (`Trainer.startHeadStart`): the base it trains from, its result, the optimizer state before it. */
interface HeadStart {
  readonly baseRef: Hex;
  readonly result: Promise<TrainedUpdate | undefined>;
  /** After a restart, the state restored from disk (restored before it is read, or a discard would lose it). */
  readonly optimizerBefore: Promise<OptimizerState | undefined>;
}

export class Trainer {
  private readonly ctx: RoundContext;
  private readonly components: TrainerComponents;
  private readonly compressor: TopKCompressor;
  /** Samples per second of this node's own earlier training runs (EWMA), for sizing the next one. */
  private measuredSamplesPerSec: number | undefined;
  /**
   * How long this node's latest commit transactions took to be mined (ms, the slowest of the last few): the
   * window must hold them too, and on a loaded machine with a busy transaction queue (a claim ahead of the
   * commit) they took 3–5 s, more than a short commit window left after training (quick soak, 2026-12-05).
   */
  private readonly commitTxMs: number[] = [];
  /** Rounds sat out in a row as too slow (`MAX_CONSECUTIVE_SIT_OUTS`). */
  private sitOuts = 0;
  /** Privacy spent by this trainer's DP updates so far (one Gaussian mechanism per committed round). */
  private readonly privacy = new RdpAccountant();
  private privateRounds = 0;
  private compressorRestored = false;
  /**
   * This node's local optimizer state (Adam moments, momentum) after its last training run, continued in its
   * next round when the task names its optimizer; saved in the round store after every run, so a restarted
   * node resumes it (`restoreOptimizer`).
   */
  private optimizerState: OptimizerState | undefined;
  private optimizerRestored = false;
  /**
   * Training for the task's next round, started from a round's posted model before that round finalized
   * (`startHeadStart`): the next round commits it at once if it opens on that base, else it is discarded.
   */
  private headStart: HeadStart | undefined;
  /**
   * The last update compressed for a commit the chain did not take. Training it again on the next tick redid the
   * work on every tick of a full round's commit window, and each compression moved the error-feedback residual
   * (and each run the local optimizer) for an update that was never committed.
   */
  private unsent: UnsentCommit | undefined;

  constructor(ctx: RoundContext, components: TrainerComponents) {
    this.ctx = ctx;
    this.components = components;
    const { spec } = ctx.options;
    this.compressor = taskCompressor(spec.compression, spec.initSeed);
  }

  /**
   * The compressor's residual (and velocity) from before a restart, once: what this trainer had not yet sent is
   * still owed to the model. A missing or torn state file means starting from zero.
   */
  private async restoreCompressor(): Promise<void> {
    if (this.compressorRestored) return;
    this.compressorRestored = true;
    const saved = await this.ctx.options.store?.loadCompressorState();
    if (saved === undefined) return;
    try {
      this.compressor.restore(decodeCompressorState(saved, this.ctx.paramSize));
      this.ctx.log.info("restored the compressor's error-feedback residual");
    } catch (error) {
      if (!(error instanceof UpdateDecodeError)) throw error;
      this.ctx.log.warn({ err: error }, "compressor state unreadable; starting from zero");
    }
  }

  /**
   * The local optimizer's state from before a restart, once, when the task names its optimizer. A missing, torn
   * or foreign state file (another model or optimizer) means starting the moments from zero.
   */
  private async restoreOptimizer(): Promise<void> {
    if (this.optimizerRestored) return;
    this.optimizerRestored = true;
    const optimizer = this.ctx.options.spec.train.optimizer;
    if (optimizer === undefined || this.optimizerState !== undefined) return;
    const saved = await this.ctx.options.store?.loadOptimizerState();
    if (saved === undefined) return;
    try {
      this.optimizerState = decodeOptimizerState(saved, {
        dimension: this.ctx.paramSize,
        vectors: optimizerStateNames(optimizerSpecSchema.parse(optimizer)).length,
      });
      this.ctx.log.info(
        { steps: this.optimizerState.steps },
        "restored the local optimizer state after restart",
      );
    } catch (error) {
      if (!(error instanceof OptimizerStateFileError)) throw error;
      this.ctx.log.warn({ err: error }, "optimizer state unreadable; starting from zero");
    }
  }

  /** OPEN, before the commit deadline: train and commit once per round (a failure is retried next tick). */
  startTraining(roundId: bigint, baseRef: Hex, work: TrainerWork, windowMs: number): void {
    if (this.ctx.options.train === false || work.trainingStarted) return;
    work.trainingStarted = true;
    void this.trainAndCommit(roundId, baseRef, work, windowMs).catch((error: unknown) => {
      work.trainingStarted = false;
      const commitment = error instanceof CommitNotAcceptedError ? error.commitment : undefined;
      this.ctx.log.warn({ err: error, roundId, commitment }, "training/commit failed");
    });
  }

  /**
   * Local optimizer steps for this round: the task's full local work, or as much of it as this node's speed
   * finishes inside the commit window (with slack, a fixed overhead for compression, and the time its recent
   * commit transactions took), so a
   * slow node contributes less instead of missing the deadline. `undefined` means "too slow to contribute".
   */
  plannedSteps(windowMs: number): number | undefined {
    const { spec, data } = this.ctx.options;
    const full = Math.ceil(data.count / spec.train.batchSize) * spec.train.epochs;
    const speed = this.measuredSamplesPerSec;
    if (speed === undefined || !(speed > 0)) return full;
    const commitMs = Math.max(0, ...this.commitTxMs);
    const affordable = Math.floor(
      (speed * Math.max(0, windowMs - DEADLINE_OVERHEAD_MS - commitMs)) /
        (DEADLINE_SLACK * 1000 * spec.train.batchSize),
    );
    const steps = Math.min(full, affordable);
    return steps >= 1 ? steps : undefined;
  }

  /** (epsilon, delta) this trainer has spent under the task's DP settings, or undefined without DP. */
  privacySpent(): { epsilon: number; delta: number; rounds: number } | undefined {
    const dp = this.ctx.options.spec.privacy.dp;
    if (dp === undefined) return undefined;
    const epsilon = this.privateRounds === 0 ? 0 : this.privacy.epsilon(dp.delta).epsilon;
    return { epsilon, delta: dp.delta, rounds: this.privateRounds };
  }

  /**
   * CHALLENGING, every sampled challenge answered and the challenge window over: unless a dispute fails the
   * round in its last seconds, its posted model `baseRef` is the next round's base. Training from it now, during
   * the dispute window, finalization and the next opening, lets this node commit the moment the next round opens
   * instead of spending that round's commit window training: the rounds' training overlaps the previous round's
   * tail (it set the quick soak's round time). The work is sized as for a commit window of `windowMs` (the
   * task's), so the update and its weight are what the node would have trained in the round itself. Once per base.
   */
  startHeadStart(baseRef: Hex, windowMs: number, seed: number): void {
    if (this.ctx.options.train === false || this.headStart?.baseRef === baseRef) return;
    if (this.ctx.models.get(baseRef) === undefined) return; // not derived or fetched yet: a later tick
    const steps = this.plannedSteps(windowMs);
    if (steps === undefined) return;
    const optimizerBefore = this.restoreOptimizer().then(() => this.optimizerState);
    // Its optimizer state is saved only once a round commits it (`takeHeadStart`).
    const result = optimizerBefore
      .then(() => this.trainFrom(baseRef, steps, seed, { persistOptimizer: false }))
      .catch((error: unknown) => {
        this.ctx.log.debug(
          { err: error, base: baseRef },
          "head-start training failed; training in the round",
        );
        return undefined;
      });
    this.headStart = { baseRef, result, optimizerBefore };
  }

  /**
   * The head start's update if it was trained from `baseRef` (consumed: a round commits it once). One trained
   * from another base (its round failed, or the next round opened on another model) is discarded, and the local
   * optimizer state goes back to what it was before it, so the moments only ever hold committed work.
   */
  private async takeHeadStart(roundId: bigint, baseRef: Hex): Promise<TrainedUpdate | undefined> {
    const head = this.headStart;
    if (head === undefined) return undefined;
    this.headStart = undefined;
    const trained = await head.result; // settled before anything else trains (one optimizer state)
    if (head.baseRef === baseRef) {
      await this.saveOptimizer();
      return trained;
    }
    if (trained !== undefined) {
      this.optimizerState = await head.optimizerBefore;
      this.ctx.log.info(
        { roundId, trainedFrom: head.baseRef, base: baseRef },
        "discarded the head-start update: the round opened on another model",
      );
    }
    return undefined;
  }

  private async trainAndCommit(
    roundId: bigint,
    baseRef: Hex,
    work: TrainerWork,
    windowMs: number,
  ): Promise<void> {
    // Turned away before (a full round): the same update again, which a larger stake or a later draw may admit.
    const unsent = this.unsent;
    if (unsent?.roundId === roundId && unsent.trained.baseRef === baseRef) {
      await this.commitTrained(roundId, work, unsent.trained);
      return;
    }
    const head = await this.takeHeadStart(roundId, baseRef);
    if (head !== undefined) {
      this.ctx.log.info(
        { roundId, base: baseRef, samples: head.samples },
        "committing the update trained before the round opened (head start)",
      );
      await this.commitTrained(roundId, work, head);
      return;
    }
    const planned = this.plannedSteps(windowMs);
    if (planned === undefined && this.sitOuts < MAX_CONSECUTIVE_SIT_OUTS) {
      this.sitOuts += 1;
      this.ctx.log.info({ roundId, windowMs }, "too slow for this round's commit window; sitting it out");
      return;
    }
    // After MAX_CONSECUTIVE_SIT_OUTS, one step at least: it measures this node's speed and commit time again.
    const steps = planned ?? 1;
    this.sitOuts = 0;
    const trained = await this.trainFrom(baseRef, steps, Number(roundId % 1_000_000n));
    await this.commitTrained(roundId, work, trained);
  }

  /**
   * Local training from the model `baseRef` (`steps` optimizer steps, default the task's full local work): the
   * update (local − base, DP-noised where the task says so) and the samples it processed. Buffered tasks keep
   * it until a round has room (buffered-trainer.ts).
   */
  async trainFrom(
    baseRef: Hex,
    steps: number | undefined,
    seed: number,
    { persistOptimizer = true }: { persistOptimizer?: boolean } = {},
  ): Promise<TrainedUpdate> {
    const base = await this.components.modelSync.ensureModel(baseRef);
    if (base === undefined) throw new Error(`base model ${baseRef} not available yet`);
    const { spec, data, pool } = this.ctx.options;
    await this.restoreOptimizer();
    const started = performance.now();
    const result = await pool.train(
      roundTrainingJob(spec, base, this.ctx.adversary.trainingData(data), {
        steps,
        seed: seed + spec.initSeed,
        state: this.optimizerState,
      }),
      { signal: this.ctx.signal },
    );
    this.optimizerState = result.state;
    if (persistOptimizer) await this.saveOptimizer();
    const speed = (result.samples * 1000) / Math.max(1, performance.now() - started);
    this.measuredSamplesPerSec =
      this.measuredSamplesPerSec === undefined
        ? speed
        : (1 - SPEED_EWMA_WEIGHT) * this.measuredSamplesPerSec + SPEED_EWMA_WEIGHT * speed;
    const dp = spec.privacy.dp;
    const delta = trainerDelta(result.params, base, {
      transform: (raw) => this.ctx.adversary.transformUpdate(raw),
      ...(dp === undefined ? {} : { dp }),
    });
    // The weight is the work done: samples processed, at most the local dataset (one epoch's worth).
    const samples = Math.max(1, Math.min(result.samples, data.count, MAX_WEIGHT));
    return { baseRef, delta, samples, meanLoss: result.meanLoss };
  }

  /** Compresses a trained update (advancing the error-feedback residual, saved) and commits to its bytes. */
  private async compressForCommit(
    trained: TrainedUpdate,
  ): Promise<{ bytes: Uint8Array; commitment: UpdateCommitment }> {
    await this.restoreCompressor();
    const bytes = encodeUpdate(this.compressor.compress(trained.delta));
    const state = this.compressor.state();
    if (state !== undefined) await this.ctx.options.store?.saveCompressorState(encodeCompressorState(state));
    // Urgent: the trainer's commit transaction waits on it (and the round's lock on every trainer's commit).
    const { commitment } = await commitUpdateBytes(bytes, this.ctx.paramSize, "urgent");
    return { bytes, commitment };
  }

  /** The local optimizer's state, saved in the round store so a restarted node resumes it (`restoreOptimizer`). */
  private async saveOptimizer(): Promise<void> {
    const state = this.optimizerState;
    if (state !== undefined && this.ctx.options.spec.train.optimizer !== undefined)
      await this.ctx.options.store?.saveOptimizerState(encodeOptimizerState(state));
  }

  /**
   * Compresses a trained update, commits it into round `roundId` and announces it (once per round). A commit the
   * chain turned away is kept (`unsent`): called again with the same `trained`, it resends those bytes.
   */
  async commitTrained(roundId: bigint, work: TrainerWork, trained: TrainedUpdate): Promise<void> {
    const { samples } = trained;
    const { bytes, commitment } =
      this.unsent?.trained === trained ? this.unsent : await this.compressForCommit(trained);
    const unsent = { roundId, trained, bytes, commitment };
    this.unsent = unsent;
    await this.ctx.options.store?.saveOwnUpdate(roundId, bytes);
    const sending = performance.now();
    const sent = await this.ctx.chain.trySend("commitUpdate", [roundId, commitment.root, BigInt(samples)]);
    const read = (id: bigint) => this.ctx.chain.readRound(id);
    if (!sent.sent && !(await committedOnChain(read, roundId, this.ctx.me, commitment.root)))
      throw new CommitNotAcceptedError(roundId, commitment.root, sent.reason);
    // Only included commits: a failed send measures an outage or a revert, not the chain's inclusion time.
    this.commitTxMs.push(performance.now() - sending);
    if (this.commitTxMs.length > COMMIT_TX_SAMPLES) this.commitTxMs.shift();
    await this.committed(work, unsent);
  }

  /**
   * The round holds this node's commitment although its commit seemed to fail: the transaction was mined after
   * the node stopped waiting for the receipt, and the commit window closed before a retry asked the chain
   * (`committedOnChain`). Taken as committed with the bytes kept unsent, so the update is delivered; without
   * this the trainer never delivered and the aggregator dropped it (late-receipt.test.ts). `onChain`: the
   * round's commitment of this node. Not while a commit of this round is under way (`trainingStarted`).
   */
  async adoptLandedCommit(roundId: bigint, onChain: Hex, work: TrainerWork): Promise<void> {
    const unsent = this.unsent;
    if (work.updateBytes !== undefined || work.trainingStarted || unsent?.roundId !== roundId) return;
    if (unsent.commitment.root.toLowerCase() !== onChain.toLowerCase()) return;
    this.ctx.log.info({ roundId }, "own commit found on chain after its receipt was missed");
    await this.committed(work, unsent);
  }

  /** A commit the round holds: kept for delivery, counted against the privacy budget, announced. */
  private async committed(work: TrainerWork, commit: UnsentCommit): Promise<void> {
    const { spec, events } = this.ctx.options;
    const { roundId, trained, bytes, commitment } = commit;
    const { samples } = trained;
    this.unsent = undefined;
    work.updateBytes = bytes;
    work.ownCommitment = commitment;
    work.baseRef = trained.baseRef;
    work.committed = true;
    // Every committed round releases one Gaussian-noised update of the whole local dataset (q = 1).
    const dp = spec.privacy.dp;
    if (dp !== undefined) {
      this.privacy.compose(1, dp.noiseMultiplier, 1);
      this.privateRounds += 1;
    }
    events?.onCommitted?.(roundId, samples, bytes.length);
    // The signed commitment and the update's content hash go to every node (watchers recompute from it).
    if (!this.ctx.adversary.withholdsUpdate())
      await this.components.data
        .announceUpdate(roundId, commitment.root, BigInt(samples), bytes)
        .catch((error: unknown) => this.ctx.log.warn({ err: error, roundId }, "update announcement failed"));
    this.ctx.log.info(
      {
        roundId,
        samples,
        bytes: bytes.length,
        loss: trained.meanLoss,
        base: trained.baseRef,
        privacy: this.privacySpent(),
      },
      "update committed",
    );
  }

  /**
   * AGGREGATING: deliver the committed update once (to ourselves when we aggregate it), and once more to a
   * backup that took over (`restartForNewAggregator` clears `delivered`).
   */
  async deliver(
    roundId: bigint,
    tree: RoundTree,
    work: TrainerWork & Pick<AggregatorWork, "aggregatingSince" | "takeovers">,
    waitMs: number,
  ): Promise<void> {
    if (work.delivered || work.pushing || work.updateBytes === undefined) return;
    if (this.ctx.adversary.withholdsUpdate() || Date.now() < (work.pushAgainAt ?? 0)) return;
    const target = uploadTarget(this.ctx.me, tree, work, waitMs);
    if (target === this.ctx.me) {
      await this.components.acceptOwn(roundId, work.updateBytes, this.namedBase(work));
      work.delivered = true;
      return;
    }
    work.pushing = true;
    void pushUpdate(this.ctx, this.components.delivery, {
      roundId,
      target: target as Address,
      work,
      waitMs,
      base: this.namedBase(work),
    }).finally(() => (work.pushing = false));
  }

  /** The base an update names to its aggregator: only in buffered tasks (a synchronous one trains from the round's). */
  private namedBase(work: TrainerWork): Hex | undefined {
    return this.ctx.options.spec.rounds.mode === "fedbuff" ? work.baseRef : undefined;
  }

  /** The commitment of this node's own update in a round (computed once, from the bytes it committed). */
  async ownCommitment(work: TrainerWork): Promise<UpdateCommitment | undefined> {
    if (work.ownCommitment !== undefined || work.updateBytes === undefined) return work.ownCommitment;
    work.ownCommitment = (await commitUpdateBytes(work.updateBytes, this.ctx.paramSize, "urgent")).commitment;
    return work.ownCommitment;
  }

  /** After a restart: reload the update this node committed, so it can still deliver and defend it. */
  async restoreOwnUpdate(roundId: bigint, work: TrainerWork): Promise<void> {
    const store = this.ctx.options.store;
    if (store === undefined || work.updateBytes !== undefined) return;
    const own = await store.loadOwnUpdate(roundId);
    if (own === undefined) return;
    work.updateBytes = own;
    work.committed = true;
    this.ctx.log.info({ roundId }, "restored own committed update");
  }
}
