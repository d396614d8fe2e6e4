/**
 * Hierarchical rounds (docs/protocol.md §7): each group's leader sums its members' updates into a partial
 * aggregate and sends it to its parent; a parent spot-checks a child's partial by asking it to open random
 * chunks down to the trainers' commitments (the openings protocol) before merging; the root posts the
 * aggregate of the merged partials, unproven.
 */
import { randomInt } from "node:crypto";

import { peerIdFromString } from "@libp2p/peer-id";
import type { PeerId } from "@libp2p/interface";
import { zeroHash } from "viem";
import type { Address, Hex } from "viem";

import { RoundState } from "../../chain/contracts.ts";
import { MeshError } from "../../p2p/errors.ts";
import { MAX_WEIGHT, chunkCount } from "../../proofs/index.ts";
import type { AggregationGroup } from "../../scheduling/aggregation-plan.ts";
import {
  HierarchyError,
  aggregateOfPartial,
  decodePartial,
  encodePartial,
  groupsLedBy,
  mergePartials,
  openingOf,
  parentOfGroup,
  partialOf,
  topGroup,
  trainersUnder,
  verifyOpenings,
} from "../hierarchy.ts";
import type { Opening, PartialAggregate, RoundTree } from "../hierarchy.ts";
import { OpeningsService } from "../openings.ts";
import type { Aggregator } from "./aggregator.ts";
import { PARTIAL_RETRY_MS } from "./context.ts";
import type { RoundContext, RoundView } from "./context.ts";
import type { Delivery } from "./delivery.ts";
import type { ModelSync } from "./model-sync.ts";
import { treeOf } from "./round-work.ts";
import type { AggregatorWork, HierarchyWork, RoundWork, RoundWorkStore } from "./round-work.ts";
import { weightsForPost } from "./weight-claims.ts";

export interface SubAggregatorComponents {
  readonly work: RoundWorkStore;
  readonly aggregator: Aggregator;
  readonly delivery: Delivery;
  readonly modelSync: ModelSync;
}

export class SubAggregator {
  private readonly ctx: RoundContext;
  private readonly components: SubAggregatorComponents;
  /** The openings protocol, run by the mesh: we answer our parent's spot checks and ask our children. */
  readonly openings: OpeningsService;

  constructor(ctx: RoundContext, components: SubAggregatorComponents) {
    this.ctx = ctx;
    this.components = components;
    const { mesh } = ctx.options;
    this.openings = new OpeningsService({
      isAllowed: (peer) => mesh.admission.isAdmitted(peer),
      provider: (from, roundId, chunk, signal) => this.openingsForParent(from, roundId, chunk, signal),
      onViolation: (peerId, kind) => mesh.reportViolation(peerId, kind),
    });
  }

  /**
   * Hierarchical rounds: build each group this node leads once its inputs are in (or its level's share of the
   * wait is over), send the partial up, and, at the root, post the aggregate. Lower levels get earlier cut-offs
   * (level L of D waits L/D of the round's wait, `levelDue`) so the root is never the one that waits for everybody.
   */
  async advance(
    roundId: bigint,
    round: RoundView,
    work: RoundWork,
    tree: RoundTree,
    now: bigint,
  ): Promise<void> {
    const me = this.ctx.me;
    const groups = groupsLedBy(tree, me);
    for (const group of groups) {
      if (work.built.has(group.level)) continue;
      const due = this.levelDue(round, work, group.level, tree.plan.depth, now);
      const built = await this.buildGroup(round, work, tree, group, due);
      if (built === undefined) break; // a level waits for the one below it
      work.built.set(group.level, built);
      this.ctx.log.info(
        { roundId, level: group.level, trainers: [...built.weights.values()].filter((w) => w > 0).length },
        "partial aggregate built",
      );
    }
    for (const group of groups) {
      const partial = work.built.get(group.level);
      const parent = parentOfGroup(tree, group);
      if (partial === undefined || parent === undefined || parent === me) continue;
      if (work.sentLevels.has(group.level) || work.sendingLevels.has(group.level)) continue;
      if (Date.now() < (work.partialRetryAt.get(group.level) ?? 0)) continue;
      work.sendingLevels.add(group.level);
      void this.pushPartial(roundId, group.level, partial, parent as Address, work).finally(() =>
        work.sendingLevels.delete(group.level),
      );
    }
    if (me === tree.root) {
      const partial = work.built.get(topGroup(tree).level);
      if (partial !== undefined) await this.postHierarchical(roundId, round, work, partial);
    }
  }

  /**
   * Whether level `level` of `depth` must be built now: its share of the wait is over (level L waits L/D of
   * the round's wait, `Aggregator.waitMsFor`: the configured `aggregateWaitMs`, or longer when this round's
   * updates came further apart, as the flat aggregator's quorum wait), or the aggregate deadline is near by the
   * clock (`Aggregator.nearDeadline`: the head's timestamp plus the wall time since it was seen). Judged by the
   * head alone, a chain that mines only on transactions would keep the head's old time while the deadline
   * passes. A fixed share cut a loaded round's slow but honest uploads off at the first level (issue #21).
   */
  levelDue(round: RoundView, work: RoundWork, level: number, depth: number, now: bigint): boolean {
    const { aggregator } = this.components;
    const elapsed = Date.now() - (work.aggregatingSince ?? Date.now());
    return (
      aggregator.nearDeadline(round.aggregateDeadline, now) ||
      elapsed >= (aggregator.waitMsFor(work) * level) / depth
    );
  }

  /** PartialAggregate of screened raw updates (a level-1 group, or the root's fallback updates). */
  private async rawPartial(
    round: RoundView,
    work: AggregatorWork,
    operators: readonly string[],
  ): Promise<PartialAggregate> {
    const weights = await this.components.aggregator.screen(round, work, operators);
    return partialOf(
      this.ctx.paramSize,
      [...weights].map(([operator, weight]) => ({
        operator,
        weight,
        encoded: work.received.get(operator)!.encoded,
      })),
    );
  }

  /** One group's partial, or undefined while its inputs are still expected. */
  private async buildGroup(
    round: RoundView,
    work: RoundWork,
    tree: RoundTree,
    group: AggregationGroup,
    due: boolean,
  ): Promise<PartialAggregate | undefined> {
    const me = this.ctx.me;
    const adversary = this.ctx.adversary;
    if (group.level === 1) {
      const complete = group.members.every((m) => work.received.has(m));
      return complete || due
        ? adversary.transformPartial(await this.rawPartial(round, work, group.members))
        : undefined;
    }
    const inputs = group.members.map((member) =>
      member === me ? work.built.get(group.level - 1) : work.partials.get(member)?.partial,
    );
    // A child whose partial failed its check will not send another: no reason to wait for it.
    const complete = inputs.every((p, k) => p !== undefined || work.refusedChildren.has(group.members[k]!));
    if (!complete && !due) return undefined;
    const parts = inputs.filter((p): p is PartialAggregate => p !== undefined);
    if (group === topGroup(tree)) {
      // The root also takes updates sent to it directly by trainers whose sub-aggregator failed them.
      const covered = new Set(parts.flatMap((p) => [...p.weights.keys()]));
      const direct = [...work.received.keys()].filter((operator) => !covered.has(operator));
      if (direct.length > 0) parts.push(await this.rawPartial(round, work, direct));
    }
    return adversary.transformPartial(mergePartials(this.ctx.paramSize, parts));
  }

  private async pushPartial(
    roundId: bigint,
    level: number,
    partial: PartialAggregate,
    parent: Address,
    work: HierarchyWork,
  ): Promise<void> {
    try {
      const bytes = encodePartial(roundId, level, partial);
      await this.components.delivery.pushTo(parent, "partial", bytes, roundId);
      work.sentLevels.add(level);
      this.ctx.stats.bytesSent += bytes.length;
      this.ctx.log.info({ roundId, level, to: parent, bytes: bytes.length }, "partial aggregate delivered");
    } catch (error) {
      if (error instanceof MeshError && error.code === "BLOB_REJECTED") {
        // A refusal is final (too late, or the parent found it wrong): retrying would only repeat it.
        work.sentLevels.add(level);
        this.ctx.log.warn({ err: error, roundId, level, to: parent }, "partial refused by the parent");
      } else {
        work.partialRetryAt.set(level, Date.now() + PARTIAL_RETRY_MS);
        this.ctx.log.warn({ err: error, roundId, level, to: parent }, "partial push failed; will retry");
      }
    }
  }

  /**
   * Blob handler, parent side: accept a child's partial only if the child leads a group under us, names only
   * trainers of its subtree, and opens `spotChecks` random chunks consistently with the trainers' on-chain
   * commitments.
   */
  async receivePartial(from: string, bytes: Uint8Array): Promise<void> {
    const operator = this.ctx.options.mesh.admission.peer(from)?.operator;
    if (operator === undefined) throw new MeshError("NOT_ADMITTED", "sender is not admitted");
    const sender = operator.toLowerCase();
    let decoded: ReturnType<typeof decodePartial>;
    try {
      decoded = decodePartial(bytes, this.ctx.paramSize);
    } catch (error) {
      throw new MeshError("BLOB_REJECTED", (error as Error).message);
    }
    const { roundId, level, partial } = decoded;
    const round = await this.ctx.chain.roundForPush(roundId, from, (r) => r.state === RoundState.Aggregating);
    if (round.state !== RoundState.Aggregating)
      throw new MeshError("BLOB_REJECTED", "round is not aggregating");
    const work = this.components.work.for(roundId);
    const tree = await treeOf(this.ctx, work, roundId, round);
    const group = tree.plan.groups.find((g) => g.level === level && g.aggregator === sender);
    if (group === undefined || parentOfGroup(tree, group) !== this.ctx.me)
      throw new MeshError("BLOB_REJECTED", "sender's partial does not belong to this node");
    if (work.built.has(level + 1)) throw new MeshError("BLOB_REJECTED", "partial arrived after the cut-off");
    const allowed = trainersUnder(tree, group);
    for (const trainer of partial.weights.keys()) {
      if (!allowed.has(trainer))
        throw new MeshError("BLOB_REJECTED", `partial names trainer ${trainer} outside its group`);
    }
    try {
      await this.spotCheck(roundId, round, peerIdFromString(from), partial, allowed);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      work.refusedChildren.add(sender);
      this.ctx.options.events?.onPartialRejected?.(roundId, operator, reason);
      this.ctx.log.warn({ roundId, from: operator, reason }, "partial aggregate failed its spot check");
      throw new MeshError("BLOB_REJECTED", `spot check failed: ${reason}`);
    }
    work.partials.set(sender, { level, partial });
    this.ctx.stats.bytesReceived += bytes.length;
  }

  private async spotCheck(
    roundId: bigint,
    round: RoundView,
    child: PeerId,
    partial: PartialAggregate,
    allowed: ReadonlySet<string>,
  ): Promise<void> {
    const chunks = chunkCount(this.ctx.paramSize);
    const picks = new Set<number>();
    const want = Math.min(chunks, this.ctx.options.spec.aggregation.spotChecks);
    while (picks.size < want) picks.add(randomInt(chunks));
    const committed = committedOf(round);
    for (const chunk of picks) {
      const openings = await this.openings.request(child, roundId, chunk, this.ctx.signal);
      await verifyOpenings(openings, { chunk, partial, allowed, committed });
    }
  }

  /** Openings a parent asks for: one chunk of the partial we sent it, down to every included trainer. */
  private async openingsForParent(
    from: string,
    roundId: bigint,
    chunk: number,
    signal: AbortSignal,
  ): Promise<readonly Opening[]> {
    const requester = this.ctx.options.mesh.admission.peer(from)?.operator?.toLowerCase();
    const work = this.components.work.get(roundId);
    const tree = work?.tree;
    if (requester === undefined || work === undefined || tree === undefined)
      throw new HierarchyError("OPENING_INVALID", "no partial of this round here");
    if (chunk >= chunkCount(this.ctx.paramSize))
      throw new HierarchyError("OPENING_INVALID", "chunk out of range");
    const group = groupsLedBy(tree, this.ctx.me).find(
      (g) => parentOfGroup(tree, g) === requester && work.built.has(g.level),
    );
    if (group === undefined) throw new HierarchyError("OPENING_INVALID", "we sent no partial to this peer");
    return this.openingsOf(roundId, work, tree, group, chunk, signal);
  }

  private async openingsOf(
    roundId: bigint,
    work: RoundWork,
    tree: RoundTree,
    group: AggregationGroup,
    chunk: number,
    signal: AbortSignal,
  ): Promise<Opening[]> {
    const partial = work.built.get(group.level);
    if (partial === undefined) throw new HierarchyError("OPENING_INVALID", "partial not built");
    if (group.level === 1) {
      return [...partial.weights]
        .filter(([, weight]) => weight > 0)
        .map(([operator, weight]) => {
          const update = work.received.get(operator)!;
          return openingOf(operator, weight, update.encoded, update.commitment, chunk);
        });
    }
    const me = this.ctx.me;
    const round = await this.ctx.chain.readRound(roundId);
    const out: Opening[] = [];
    for (const member of group.members) {
      if (member === me) {
        const below = groupsLedBy(tree, me).find((g) => g.level === group.level - 1);
        if (below !== undefined)
          out.push(...(await this.openingsOf(roundId, work, tree, below, chunk, signal)));
        continue;
      }
      const child = work.partials.get(member);
      const childGroup = tree.plan.groups.find((g) => g.level === group.level - 1 && g.aggregator === member);
      if (child === undefined || childGroup === undefined) continue;
      const openings = await this.openings.request(
        await this.ctx.chain.peerOf(member as Address),
        roundId,
        chunk,
        signal,
      );
      // Checked before forwarding, so a lying child is blamed here rather than us upstream.
      await verifyOpenings(openings, {
        chunk,
        partial: child.partial,
        allowed: trainersUnder(tree, childGroup),
        committed: committedOf(round),
      });
      out.push(...openings);
    }
    return out;
  }

  /** Root of a hierarchical round: the aggregate of the merged partials, posted unproven (docs/protocol.md §7). */
  private async postHierarchical(
    roundId: bigint,
    round: RoundView,
    work: RoundWork,
    partial: PartialAggregate,
  ): Promise<void> {
    const base = await this.components.modelSync.ensureModel(round.baseModelRef);
    if (base === undefined) return;
    if (![...partial.weights.values()].some((w) => w > 0)) {
      // Nothing usable reached the root: all-zero weights close the round unslashed (as in flat rounds,
      // `Aggregator.aggregateAndPost`), where staying silent would be slashed for the missed deadline.
      const zero = await weightsForPost(
        this.ctx,
        roundId,
        round.trainers,
        round.trainers.map(() => 0),
      );
      const posted =
        zero !== undefined &&
        (await this.ctx.chain.sendIfValid("postAggregate", [roundId, zeroHash, zeroHash, zero]));
      if (posted) work.posted = true;
      return;
    }
    const { ref, aggregate, aggregateCommitment, aggregateData } =
      await this.components.aggregator.applyAggregate(
        roundId,
        round.baseModelRef,
        base,
        aggregateOfPartial(partial),
      );
    const weights = round.trainers.map((t) => partial.weights.get(t.toLowerCase()) ?? 0);
    // The root holds partials, not updates, so it cannot prove: only an unproven task's round is hierarchical
    // (a proven task's round holds at most the circuit's fan-in and is planned flat, `treeOf`).
    // Above the weights array (a hierarchical round of more than 16 trainers) a weight tree root goes first.
    const posting = await weightsForPost(this.ctx, roundId, round.trainers, weights);
    if (posting === undefined) return;
    const posted = await this.ctx.chain.sendIfValid("postAggregate", [
      roundId,
      aggregateCommitment.root,
      aggregateData,
      posting,
    ]);
    if (!posted) return;
    work.posted = true;
    // Every node derives the new model from this aggregate (next-model.ts): it must reach them.
    void this.components.aggregator.handOut(roundId, round, aggregate);
    const rejected = round.trainers.filter((t) => partial.weights.get(t.toLowerCase()) === 0);
    this.ctx.options.events?.onAggregated?.(
      roundId,
      round.trainers.filter((_, i) => weights[i]! > 0),
      rejected,
    );
    this.ctx.log.info(
      { roundId, depth: work.tree?.plan.depth, included: weights.filter((w) => w > 0).length, modelRef: ref },
      "hierarchical aggregate posted",
    );
  }
}

/** Each trainer's on-chain commitment and the most weight its update may carry (its sample count, capped). */
function committedOf(round: RoundView): Map<string, { root: Hex; maxWeight: number }> {
  return new Map(
    round.trainers.map((t, i) => [
      t.toLowerCase(),
      { root: round.commitments[i]!, maxWeight: Math.min(Number(round.sampleCounts[i]!), MAX_WEIGHT) },
    ]),
  );
}
