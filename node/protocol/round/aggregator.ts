/**
 * The flat aggregator's part of a round: receive each trainer's update and verify it against the trainer's
 * on-chain commitment, screen anomalous updates (weight 0), aggregate in fixed point, post the aggregate's
 * commitment (the chain derives the new model's ref from it), and answer challenges with zk proofs of the challenged chunks.
 */
import { zeroHash } from "viem";
import type { Address, Hex } from "viem";

import { sha256 } from "../../p2p/blobs.ts";
import { MeshError } from "../../p2p/errors.ts";
import {
  aggregateFixedPoint,
  commitEncoded,
  decodeFixedPoint,
  encodeFixedPoint,
} from "../../proofs/index.ts";
import type { UpdateCommitment } from "../../proofs/index.ts";
import type { commitUpdateBytes } from "../update.ts";
import { DEFAULT_AGGREGATE_WAIT_MS } from "./context.ts";
import type { RoundContext, RoundView } from "./context.ts";
import { buildLinks, isChained } from "./link-answers.ts";
import type { ModelSync } from "./model-sync.ts";
import type { ProvingBudget } from "./proving-budget.ts";
import type { RoundData } from "./round-data.ts";
import { aggregateBytesOf } from "./round-data.ts";
import { modelRefOf } from "./next-model.ts";
import { previousModelStep } from "./previous-step.ts";
import { discountStaleWeights } from "./staleness.ts";
import { deadlineFor } from "../../scheduling/deadline.ts";
import { noteArrival, rememberAggregation, treeOf } from "./round-work.ts";
import type { AggregatorWork, RoundWorkStore } from "./round-work.ts";
import { postsWeightTree, weightsForPost } from "./weight-claims.ts";
import { baseOf, roundOf } from "./blob-meta.ts";
import { CheckOnce } from "./check-once.ts";
import { AggregationTime, NO_PATH_COSTS } from "./post-margin.ts";
import type { PathCosts } from "./post-margin.ts";
import { screenUpdates } from "./screen-updates.ts";
import { keepReplica, trainerIndex, verifyUpdate } from "./replica-intake.ts";
import { TaskRule } from "./task-rule.ts";
import { updatesToFold } from "./held-revealed.ts";
import type { BlobMeta } from "./blob-meta.ts";
import { CHAIN_WRITE_RETRY_BUDGET_MS } from "../../chain/constants.ts";
import { ChainClock } from "./chain-clock.ts";

export interface AggregatorComponents {
  readonly work: RoundWorkStore;
  readonly modelSync: ModelSync;
  readonly data: RoundData;
  /** This node's proving time (proving-budget.ts): every proof counts, and a too-slow one warns. */
  readonly provingBudget: ProvingBudget;
  /** Its tick gap and transaction time, measured (post-margin.ts): what the margin must hold beside compute. */
  readonly pathCosts?: () => PathCosts;
  /** The chain's time as this node's reads date it (the participant's gateway's clock); a clock of its own else. */
  readonly chainClock?: ChainClock;
}

/** Why an aggregator decided to aggregate, and how early (logged with the post: why the next run posted or not). */
export type AggregateReason = "all in" | "quorum waited" | "deadline near";

export class Aggregator {
  private readonly ctx: RoundContext;
  private readonly components: AggregatorComponents;
  /** The task's aggregation rule, with its history, in a worker (task-rule.ts). */
  private readonly taskRule: TaskRule;
  /** Checks of pushed updates under way, by round, trainer and content (check-once.ts). */
  private readonly checks = new CheckOnce<Awaited<ReturnType<typeof commitUpdateBytes>>>();

  constructor(ctx: RoundContext, components: AggregatorComponents) {
    this.ctx = ctx;
    this.components = components;
    this.taskRule = new TaskRule(ctx);
  }

  /** This node's measured aggregation time: how much earlier than the fixed margin it must start (post-margin.ts). */
  private readonly aggregationTime = new AggregationTime();
  /** The chain's time from this node's reads, when the participant shares none (tests): see `estimatedNow`. */
  private readonly ownClock = new ChainClock();

  /**
   * How long a post's transaction may ride out an unreachable chain (ms): until `deadline` by the chain's
   * estimated time, at least CHAIN_WRITE_RETRY_BUDGET_MS.
   */
  postRetryBudgetMs(deadline: bigint): number {
    const chainNow = (this.components.chainClock ?? this.ownClock).now();
    const leftMs = chainNow === undefined ? 0 : Number(deadline - chainNow) * 1000;
    return Math.max(CHAIN_WRITE_RETRY_BUDGET_MS, leftMs);
  }

  /**
   * The time the next block will carry, estimated (chain-clock.ts): the wall clock plus the chain's offset from it
   * as of this node's freshest read, here the tick's head read (`components.chainClock`) or `now` itself as of this
   * call. The head alone lags on a chain that mines only on transactions (a local `hardhat node`), with slow blocks,
   * behind the blocks a node waits for, and in a slow tick; judged by it, an honest aggregator posts after its
   * deadline, or a trainer that withholds more than the quorum's missing share keeps it waiting until the first
   * block after its deadline, whose miss anyone can then report.
   */
  private estimatedNow(now: bigint): bigint {
    const clock = this.components.chainClock ?? this.ownClock;
    clock.observe(now, Date.now());
    return clock.now() ?? now;
  }

  /**
   * Whether `deadline` is within AGGREGATE_MARGIN_SECONDS of the estimated time of the next block (`now` is the
   * head's timestamp). Flat aggregation and every level of a hierarchical round (sub-aggregator.ts) use it.
   */
  nearDeadline(deadline: bigint, now: bigint, windowLeftS?: bigint, inputs = 0, txs = 1): boolean {
    return deadline - this.estimatedNow(now) <= this.marginS(windowLeftS, inputs, txs);
  }

  /** The post margin (chain seconds) for `inputs` held and `txs` transactions to send (post-margin.ts). */
  marginS(windowLeftS: bigint | undefined, inputs: number, txs = 1): bigint {
    const costs = this.components.pathCosts?.() ?? NO_PATH_COSTS;
    return this.aggregationTime.marginS(windowLeftS, inputs, costs, txs);
  }

  /** How long aggregators wait for missing inputs before a quorum (flat) or their level's cut-off (trees). */
  get waitMs(): number {
    return this.ctx.options.aggregateWaitMs ?? DEFAULT_AGGREGATE_WAIT_MS;
  }

  /**
   * A flat round's quorum wait, from its measured deliveries: the configured wait, or longer when this round's
   * updates came further apart, as long as `deadlineFor` gives one more delivery at the slowest rate seen (the
   * longest gap between two arrivals, with slack and overhead). A fixed 15 s dropped 3 of 8 honest trainers of a loaded 128-node
   * round whose uploads trickled in (issue #21); the chain deadline still ends the wait (`ready`).
   */
  waitMsFor(work: AggregatorWork): number {
    const gap = work.longestGapMs;
    return gap === undefined || gap <= 0 ? this.waitMs : Math.max(this.waitMs, deadlineFor(1000 / gap, 1));
  }

  /**
   * Blob handler: an update pushed to us, accepted only if it matches the sender's on-chain commitment. A
   * replica (`meta.replica`) is only kept and served to watchers; the trainer delivers to its aggregator itself.
   */
  async receiveUpdate(from: string, bytes: Uint8Array, meta: BlobMeta): Promise<void> {
    const roundId = roundOf(meta);
    const operator = this.ctx.options.mesh.admission.peer(from)?.operator;
    if (operator === undefined) throw new MeshError("NOT_ADMITTED", "sender is not admitted");
    if (meta["replica"] === true) {
      // A trainer's own replica, or a proven round's update handed out after the post naming its trainer (by the
      // aggregator to its seeds or by a node that checked it): relayed on in turn (update-relay.ts).
      const handedOut = typeof meta["trainer"] === "string" && /^0x[0-9a-fA-F]{40}$/.test(meta["trainer"]);
      const trainer = handedOut ? (meta["trainer"] as Address) : operator;
      const round = await keepReplica(
        this.ctx,
        this.components.data,
        roundId,
        trainer,
        bytes,
        handedOut ? from : undefined,
      );
      this.ctx.stats.bytesReceived += bytes.length;
      if (handedOut && round.proven)
        void this.components.data.relay.relay(roundId, round, { trainer, bytes, sha: sha256(bytes) }, from);
      return;
    }
    await this.acceptUpdate(roundId, operator, bytes, baseOf(meta));
    this.ctx.stats.bytesReceived += bytes.length;
    await this.ctx.options.store?.saveReceived(roundId, operator, bytes);
  }

  /**
   * A round another node aggregated, in its challenge window: once this node holds every update the aggregator
   * announced it screened (round-data.ts `distribute` hands out rejected ones too), the task rule keeps every
   * committed update this node holds, listed or not, each checked against its commitment when kept (`ownBytes`: this
   * node's own), to fold into its silent memories when the round is final (held-revealed.ts `updatesToFold`,
   * task-rule.ts `holdRevealed`). Called each tick until then.
   */
  holdRevealed(roundId: bigint, round: RoundView, ownBytes: Uint8Array | undefined): void {
    if (this.taskRule.holdsRevealed(roundId) || round.aggregator.toLowerCase() === this.ctx.me) return;
    const { data } = this.components;
    const listed = data.screenedShas(roundId, round.aggregator);
    if (listed === undefined) return;
    const held = updatesToFold({
      listed,
      trainers: round.trainers,
      commitments: round.commitments,
      me: this.ctx.me,
      committedBytes: (root) => data.committedBytes(root),
      ...(ownBytes === undefined ? {} : { own: { sha: sha256(ownBytes), bytes: ownBytes } }),
    });
    if (held !== undefined) this.taskRule.holdRevealed(roundId, held);
  }

  /** This node's own update, when it aggregates it itself (`base`: the model it trained from). */
  async acceptOwn(roundId: bigint, bytes: Uint8Array, base?: Hex): Promise<void> {
    const operator = this.ctx.options.wallet.account.address;
    await this.acceptUpdate(roundId, operator, bytes, base);
    await this.ctx.options.store?.saveReceived(roundId, operator, bytes);
  }

  /** Verifies an update against its trainer's on-chain commitment and keeps it for aggregation. */
  async acceptUpdate(roundId: bigint, operator: Address, bytes: Uint8Array, base?: Hex): Promise<void> {
    // Cached per phase (no chain read per push): the trainers and commitments are fixed once the aggregator
    // is selected, so a cached round that names both is what the chain says.
    const round = await this.ctx.chain.roundForPush(
      roundId,
      operator,
      (r) => trainerIndex(r, operator) >= 0 && !/^0x0{40}$/i.test(r.aggregator),
    );
    const index = trainerIndex(round, operator);
    if (index < 0) throw new MeshError("BLOB_REJECTED", "sender did not commit in this round");
    const work = this.components.work.for(roundId);
    // The round's aggregator takes any trainer's update (flat rounds, and the fallback of hierarchical ones);
    // a sub-aggregator only those of its own group.
    const me = this.ctx.me;
    if (
      round.aggregator.toLowerCase() !== me &&
      (await treeOf(this.ctx, work, roundId, round)).plan.parentOf.get(operator.toLowerCase()) !== me
    )
      throw new MeshError("BLOB_REJECTED", "this node does not aggregate this trainer's update");
    // A push repeated because its ack came late (same bytes) is checked once: it joins the check under way, or is
    // acknowledged at once when that check already passed.
    const sha = sha256(bytes);
    const held = () => work.received.get(operator.toLowerCase())?.sha256 === sha;
    if (held()) return;
    const update = await this.checks.run(`${roundId}:${operator.toLowerCase()}:${sha}`, () =>
      verifyUpdate(this.ctx.paramSize, bytes, round.commitments[index]!, "urgent"),
    );
    if (held()) return;
    work.received.set(operator.toLowerCase(), {
      encoded: update.encoded,
      commitment: update.commitment,
      dense: decodeFixedPoint(update.encoded),
      bytes: bytes.length,
      // Served to watchers from now on (docs/protocol.md §5, data availability).
      sha256: this.components.data.keepUpdate(roundId, round.commitments[index]!, bytes),
      ...(base === undefined ? {} : { base }),
    });
    noteArrival(work, Date.now());
  }

  /**
   * Flat rounds: aggregate when every update is in; or, once a quorum of the committed weight is in and no update
   * arrived for the wait (`waitMsFor`: `aggregateWaitMs`, longer when this round's updates arrived further apart; counting from the latest arrival: at load, honest uploads trickle in over more
   * than the wait, and a trainer dropped for being slow loses its reward for nothing it did wrong); or regardless when the chain's aggregation deadline is near (stragglers are dropped, never
   * waited for past the point where this node would miss its own deadline) — even with nothing received: the
   * all-zero post then closes the round without a slash, where staying silent would be slashed.
   */
  ready(round: RoundView, work: AggregatorWork, now: bigint, quorum: number): boolean {
    let committed = 0;
    let received = 0;
    round.trainers.forEach((t, i) => {
      const weight = Number(round.sampleCounts[i]!);
      committed += weight;
      if (work.received.has(t.toLowerCase())) received += weight;
    });
    // The window this node saw when it first looked: in a window of twice the margin or less, the margin is half
    // of it, so the aggregator waits for the first updates instead of posting all-zero weights at selection.
    const leftS = round.aggregateDeadline - this.estimatedNow(now);
    work.windowLeftS ??= leftS;
    // Transactions until the post is mined: a chained round's link root, a large round's weight root, the post.
    const txs =
      1 + (isChained(round) ? 1 : 0) + (postsWeightTree(round.trainers.length) && received > 0 ? 1 : 0);
    const marginS = this.marginS(work.windowLeftS, work.received.size, txs);
    const nearDeadline = leftS <= marginS;
    const quietSince = Math.max(work.aggregatingSince ?? Date.now(), work.lastArrivalAt ?? 0);
    const waited = Date.now() - quietSince >= this.waitMsFor(work);
    const reason: AggregateReason | undefined =
      received > 0 && received === committed
        ? "all in"
        : received > 0 && waited && received >= quorum * committed
          ? "quorum waited"
          : nearDeadline
            ? "deadline near"
            : undefined;
    if (reason !== undefined)
      work.decision = {
        reason,
        leftS: Number(leftS),
        marginS: Number(marginS),
        at: performance.now(),
        costs: this.components.pathCosts?.() ?? NO_PATH_COSTS,
      };
    return reason !== undefined;
  }

  /**
   * Robust screening of the received updates of `operators` by the task's rule (by default the guarded mean,
   * aggregation/guarded-mean.ts; fedavg screens nothing): each gets its weight
   * (sample count, capped at the group's median count, lowered by the trainer's trust from earlier rounds),
   * or 0 when it is anomalous or distrusted (no reward, no influence).
   * Operators without a received update are absent from the result. `previousUpdate`: the previous round's
   * public model step (previous-step.ts), the reference of the guard's history test; absent in a first round.
   */
  async screen(
    round: RoundView,
    work: AggregatorWork,
    operators: readonly string[],
    roundId?: bigint,
    previousUpdate?: Float32Array,
  ): Promise<Map<string, number>> {
    return screenUpdates(this.ctx, this.taskRule, { round, work, operators, roundId, previousUpdate });
  }

  /**
   * The aggregate (a cheating aggregator, node/adversary, biases it here and cannot prove it), its commitment,
   * the blob name it is served under, and the new model `base + decode(aggregate)` kept under the ref the chain
   * will derive from them (next-model.ts).
   */
  async applyAggregate(
    roundId: bigint,
    baseModelRef: Hex,
    base: Float32Array,
    raw: Uint16Array,
  ): Promise<{
    ref: Hex;
    aggregate: Uint16Array;
    aggregateCommitment: UpdateCommitment;
    aggregateData: Hex;
  }> {
    const aggregate = this.ctx.adversary.transformAggregate(raw);
    const aggregateCommitment = await commitEncoded(aggregate, "urgent");
    const ref = modelRefOf(baseModelRef, aggregateCommitment.root, roundId);
    // advance() keeps the aggregate to serve (unless this node withholds it); the chain gets its blob name.
    await this.components.modelSync.advance(ref, baseModelRef, aggregate);
    const aggregateData: Hex = `0x${sha256(aggregateBytesOf(aggregate))}`;
    return { ref, aggregate, aggregateCommitment, aggregateData };
  }

  async aggregateAndPost(roundId: bigint, round: RoundView, work: AggregatorWork): Promise<void> {
    const started = performance.now();
    const decision = work.decision;
    // Info, not debug: the decision and the inputs held are what says, after a run, why a post came late or not.
    this.ctx.log.info(
      {
        roundId,
        reason: decision?.reason,
        inputs: work.received.size,
        of: round.trainers.length,
        leftS: decision?.leftS,
        marginS: decision?.marginS,
        tickGapMs: decision === undefined ? undefined : Math.round(decision.costs.tickGapMs),
        slowTxMs: decision === undefined ? undefined : Math.round(decision.costs.txMs),
        decidedMsAgo: decision === undefined ? undefined : Math.round(started - decision.at),
      },
      "aggregating",
    );
    const base = await this.components.modelSync.ensureModel(round.baseModelRef);
    if (base === undefined) {
      this.ctx.log.warn(
        { roundId, base: round.baseModelRef },
        "aggregate not posted: the base model is missing",
      );
      return;
    }
    const zero = encodeFixedPoint(new Float32Array(this.ctx.paramSize));
    const present = round.trainers.map((t) => work.received.get(t.toLowerCase()));
    await this.taskRule.foldPastRounds(roundId, round.taskId);
    const step = await previousModelStep(this.ctx, this.components.modelSync, round.baseModelRef, base);
    // Only the updates in `present`: one arriving during the awaits above (or the screening, which no longer
    // holds the event loop) would otherwise get a weight while its zeros went into the aggregate.
    const screened = await this.screen(
      round,
      work,
      round.trainers.flatMap((t, i) => (present[i] === undefined ? [] : [t.toLowerCase()])),
      roundId,
      step,
    );
    // Buffered tasks: each accepted weight discounted for its update's staleness (staleness.ts).
    const accepted = round.trainers.map((t) => screened.get(t.toLowerCase()) ?? 0);
    const { weights } = await discountStaleWeights(this.ctx, round, present, accepted);
    const rejected = round.trainers.filter((_, i) => weights[i] === 0 && present[i] !== undefined);
    if (weights.every((w) => w === 0)) {
      // Nothing usable arrived (every trainer withheld or was rejected): all-zero weights close the round at
      // once, nobody slashed or paid (docs/protocol.md §3). Not posting would cost this node the missed-deadline
      // slash: a trainer that commits and withholds must not be able to do that to an honest aggregator.
      const zeros = await weightsForPost(this.ctx, roundId, round.trainers, weights);
      const posted =
        zeros !== undefined &&
        (await this.ctx.chain.sendIfValid("postAggregate", [roundId, zeroHash, zeroHash, zeros]));
      if (posted)
        this.ctx.log.warn(
          { roundId, rejected, totalMs: Math.round(performance.now() - (decision?.at ?? started)) },
          "no usable update: posted all-zero weights",
        );
      else
        this.ctx.log.warn({ roundId, step: "postAggregate" }, "aggregate not posted: a transaction failed");
      return;
    }
    const encoded = present.map((p) => p?.encoded ?? zero);
    const { ref, aggregate, aggregateCommitment, aggregateData } = await this.applyAggregate(
      roundId,
      round.baseModelRef,
      base,
      aggregateFixedPoint(encoded, weights).aggregate,
    );
    // A chained round's link root goes first: the chain refuses its aggregate without one (LinkRootMissing).
    const links = isChained(round)
      ? await buildLinks(
          roundId,
          round.numChunks,
          this.ctx.adversary.proofWitness(encoded, aggregate),
          weights,
        )
      : undefined;
    const computed = performance.now();
    const inputs = present.filter((p) => p !== undefined).length;
    // The compute share alone: the margin adds the transactions at the wallet's measured time (post-margin.ts).
    this.aggregationTime.record(computed - started, inputs);
    const timings = () => ({
      computeMs: Math.round(computed - started),
      txMs: Math.round(performance.now() - computed),
      totalMs: Math.round(performance.now() - (decision?.at ?? started)),
    });
    // Warn with the reason (the contract's revert or the transport's error): a missed post is slashed, and at
    // 1,000 nodes the debug log that held the reason is too large to run (session 22: 8 honest posts missed).
    const failed = (step: string, reason?: string) =>
      this.ctx.log.warn(
        { roundId, step, reason, ...timings() },
        "aggregate not posted: a transaction failed",
      );
    // Each step rides out an unreachable chain until the deadline, not for the default 45 s: at 1,000 nodes in 4
    // hosts (session 23) a host's RPC reads timed out for 55 s under its event loop's lag and an honest aggregator
    // gave up its post ~140 s before its deadline (its next tick, recomputing, posted in time: a tick gap and a
    // computation closer to a slash). A send after the deadline is refused by the contract.
    const budgetMs = this.postRetryBudgetMs(round.aggregateDeadline);
    if (links !== undefined) {
      const linked = await this.ctx.chain.trySend("postLinkRoot", [roundId, links.tree.root], budgetMs);
      if (!linked.sent) return failed("postLinkRoot", linked.reason);
    }
    // A round above the weights array posts its weight tree root first (weight-claims.ts).
    const posting = await weightsForPost(this.ctx, roundId, round.trainers, weights, budgetMs);
    if (posting === undefined) return failed("postWeightsRoot");
    const posted = await this.ctx.chain.trySend(
      "postAggregate",
      [roundId, aggregateCommitment.root, aggregateData, posting],
      budgetMs,
    );
    if (!posted.sent) return failed("postAggregate", posted.reason);
    const postedTimings = timings();
    rememberAggregation(work, { encoded, weights, present, aggregate, aggregateCommitment, links });
    if (!this.ctx.adversary.withholdsAggregate()) {
      // Signed only once posted: a node killed between signing and posting, or whose post failed, could
      // otherwise sign a second, different aggregate on the next attempt (equivocation against its own stake).
      await this.components.data
        .announceAggregate(
          roundId,
          aggregateCommitment.root,
          ref,
          aggregate,
          present.map((p) => p?.sha256),
        )
        .catch((error: unknown) =>
          this.ctx.log.warn({ err: error, roundId }, "aggregate announcement failed"),
        );
      void this.components.data.distribute(
        roundId,
        round,
        weights,
        aggregate,
        present.map((p) => p?.sha256),
      );
    }
    this.ctx.options.events?.onAggregated?.(
      roundId,
      round.trainers.filter((_, i) => weights[i]! > 0),
      rejected,
    );
    this.ctx.log.info(
      { roundId, weights, rejected, proven: round.proven, modelRef: ref, ...postedTimings },
      "aggregate posted",
    );
  }

  /**
   * Hierarchical root, after posting: announces the aggregate (signed `Aggregate`) and pushes it to a few
   * seed peers, from which every node fetches it and derives the new model (the root holds partials, not updates,
   * so only the aggregate goes out).
   */
  async handOut(roundId: bigint, round: RoundView, aggregate: Uint16Array): Promise<void> {
    const { data } = this.components;
    const commitment = await commitEncoded(aggregate, "urgent");
    const ref = modelRefOf(round.baseModelRef, commitment.root, roundId);
    const none = round.trainers.map(() => undefined);
    await data
      .announceAggregate(roundId, commitment.root, ref, aggregate, none)
      .catch((error: unknown) => this.ctx.log.warn({ err: error, roundId }, "aggregate announcement failed"));
    await data.distribute(roundId, { trainers: round.trainers, proven: false }, [], aggregate, none);
  }
}
