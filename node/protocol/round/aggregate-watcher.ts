/**
 * Watching posted aggregates (docs/protocol.md §5): a node that is not the round's aggregator fetches every
 * weighted update of a proven round (from the trainer, the aggregator, or any peer holding a replica),
 * checks each against its on-chain commitment, recomputes the aggregate in fixed point exactly as the
 * aggregator does (the posted weights), and challenges, with the bond, every chunk whose posted commitment
 * differs. However few chunks a cheater corrupts, one honest watcher with the data finds all of them.
 */
import { setTimeout as delay } from "node:timers/promises";

import { commitUpdateBytes } from "../update.ts";
import { recomputeAggregate } from "./aggregate-from-updates.ts";
import { fetchCommittedUpdate } from "./aggregation-recovery.ts";
import type { RoundContext, RoundProgress, RoundView } from "./context.ts";
import type { Keeper } from "./keeper.ts";
import type { ModelSync } from "./model-sync.ts";
import type { RoundData } from "./round-data.ts";
import type { RoundWork } from "./round-work.ts";
import { cellsOfChunks } from "./link-answers.ts";

/**
 * Wrong chunks one watcher challenges per round: one unanswerable challenge already slashes the aggregator
 * and fails the round, and each challenge locks a bond, so a wholesale forgery (every chunk wrong) must not
 * drain the watcher; a few more than one cover a challenge lost to a race.
 */
const MAX_CHALLENGES_PER_ROUND = 3;
/**
 * How long a watcher waits for the round's pushes (round-data.ts `distribute`) before fetching a missing update
 * itself (ms): right after posting the aggregator pushes each screened update to a few seeds, which relay it on
 * (update-relay.ts, a hop each a check), and a watcher that sees the posted round first and fetches on its own
 * receives each update twice. At most
 * `PUSH_GRACE_SHARE` of the challenge window left when the watcher first sees the round, so a short window
 * (task create's local 5 s) still leaves the recompute and a challenge their time.
 */
const PUSH_GRACE_MS = 15_000;
const PUSH_GRACE_SHARE = 0.25;
/** Interval at which a waiting watcher looks for pushed updates (ms). */
const PUSH_POLL_MS = 250;
/**
 * What a watcher challenges for the wrong chunks it found: the first MAX_CHALLENGES_PER_ROUND of them, or in a
 * chained round (`numLinks` > 0) every (chunk, link) cell of the first one. Which link of a wrong chunk lies is
 * known only to the aggregator (its link tree is not published), and its chain from zero sums to the posted
 * chunk must break in at least one of them, so all of one chunk's links are enough.
 */
export function challengeTargets(wrongChunks: readonly number[], numLinks: number): number[] {
  if (numLinks === 0) return wrongChunks.slice(0, MAX_CHALLENGES_PER_ROUND);
  return cellsOfChunks(wrongChunks.slice(0, 1), numLinks);
}

export interface AggregateWatcherComponents {
  readonly data: RoundData;
  readonly modelSync: ModelSync;
  readonly keeper: Keeper;
}

export class AggregateWatcher {
  private readonly ctx: RoundContext;
  private readonly components: AggregateWatcherComponents;

  constructor(ctx: RoundContext, components: AggregateWatcherComponents) {
    this.ctx = ctx;
    this.components = components;
  }

  /**
   * CHALLENGING, proven rounds, not the aggregator: recompute once (in the background; retried each tick
   * while data is missing), then challenge each wrong chunk, one watcher per chunk by the duty back-off.
   */
  async watch(
    roundId: bigint,
    round: RoundView,
    work: RoundWork,
    myIndex: number,
    now: bigint,
  ): Promise<void> {
    if (!round.proven || now > round.challengeDeadline) return;
    work.pushesDueBy ??=
      Date.now() + Math.min(PUSH_GRACE_MS, Number(round.challengeDeadline - now) * 1000 * PUSH_GRACE_SHARE);
    if (work.wrongChunks === undefined) {
      if (work.checkingAggregate) return;
      work.checkingAggregate = true;
      void this.recompute(roundId, round, work)
        .then((wrong) => {
          work.aggregateDataMissing = wrong === undefined;
          if (wrong === undefined) return;
          work.wrongChunks = challengeTargets(wrong, round.numLinks);
          if (wrong.length > 0)
            this.ctx.log.warn({ roundId, chunks: wrong }, "the posted aggregate is wrong in these chunks");
        })
        .catch((error: unknown) => {
          work.aggregateDataMissing = true;
          this.ctx.log.debug({ err: error, roundId }, "aggregate recompute failed");
        })
        .finally(() => (work.checkingAggregate = false));
      return;
    }
    for (const chunk of work.wrongChunks) {
      // At the configured pace: the challenge window is short, and a race loses only a simulation (challenge()).
      const due = this.components.keeper.dutyDue(work, `challenge-${chunk}`, myIndex, "configured");
      if (work.challenged.has(chunk) || !due) continue;
      // Marked either way (ticks do not overlap): false means someone else challenged it first, or the window closed.
      const sent = await this.ctx.chain.challenge(roundId, chunk);
      work.challenged.add(chunk);
      if (sent) this.ctx.log.warn({ roundId, chunk }, "challenged a wrong chunk of the posted aggregate");
    }
  }

  /**
   * Whether this node's own recompute is to derive the round's model: a proven round in its challenge window,
   * no verdict yet, no data missing. Meanwhile the model is not fetched as the aggregate's bytes (the
   * aggregator no longer pushes them in proven rounds, and fetching them anyway cost every node ~9 KB a round).
   */
  derivesModel(round: RoundView, work: RoundWork, now: bigint): boolean {
    return (
      round.proven &&
      now <= round.challengeDeadline &&
      work.wrongChunks === undefined &&
      work.aggregateDataMissing !== true
    );
  }

  /**
   * Whether this node has finished with a round's posted aggregate: recomputed it and seen each wrong chunk
   * it would challenge challenged (tests and the demo wait on it before moving the clock).
   */
  checked(work: RoundWork): boolean {
    const wrong = work.wrongChunks;
    return wrong !== undefined && wrong.every((c) => work.challenged.has(c));
  }

  /**
   * Whether this node is still working on a round's posted aggregate and can finish: recomputing with the data
   * it has so far, or challenging the wrong chunks it found. False once checked, and while data is missing.
   */
  busy(work: RoundWork): boolean {
    if (this.checked(work)) return false;
    if (work.wrongChunks !== undefined) return true;
    return work.checkingAggregate && work.aggregateDataMissing !== true;
  }

  /** What this node is doing in a round now, for drivers that wait for it to be done (demo/rounds.ts). */
  progress(work: RoundWork | undefined): RoundProgress {
    return {
      aggregating: work?.aggregating === true,
      answering: work !== undefined && (work.answersInFlight > 0 || work.challengesSeenAt === undefined),
      aggregateChecked: work !== undefined && this.checked(work),
      checkingAggregate: work !== undefined && this.busy(work),
      statementsChecked: work?.statementsChecked.size ?? 0,
    };
  }

  /** The chunks whose posted commitment differs from the recomputed aggregate; undefined while data is missing. */
  private async recompute(roundId: bigint, round: RoundView, work: RoundWork): Promise<number[] | undefined> {
    const recomputed = await recomputeAggregate(this.ctx, roundId, round, (i) =>
      this.fetchUpdate(roundId, round, i, work),
    );
    if (recomputed === undefined) return undefined;
    const { aggregate, commitment: mine } = recomputed;
    if (mine.root.toLowerCase() === round.aggregateCommitment.toLowerCase()) {
      // The posted aggregate is right: the new model follows from it (and from nothing the aggregator names),
      // so this node has it, and serves the aggregate (adopt keeps it), even if the aggregator withholds it.
      await this.components.modelSync.adopt(roundId, round, aggregate);
      return [];
    }
    const posted = await this.components.modelSync.aggregateOf(roundId, round);
    if (posted !== undefined) {
      return mine.chunkHashes.flatMap((hash, c) => (hash === posted.commitment.chunkHashes[c] ? [] : [c]));
    }
    // The aggregator withholds the aggregate it committed to: nobody can derive its model, and the wrong chunks
    // cannot be located from here (the sampled chunks are still challenged). Retried each tick.
    this.ctx.log.warn({ roundId }, "the posted aggregate is wrong and its bytes are withheld");
    return undefined;
  }

  /**
   * A weighted trainer's update: held (its own, pushed by the aggregator or a replica, found by content hash or by
   * its commitment: a push can land before the announcement naming its hash), else fetched by the content hash
   * announced for it, or by its commitment when no announcement came; checked against the commitment either way.
   */
  private async fetchUpdate(
    roundId: bigint,
    round: RoundView,
    index: number,
    work: RoundWork,
  ): Promise<Uint16Array | undefined> {
    const { data } = this.components;
    const trainer = round.trainers[index]!;
    const root = round.commitments[index]!.toLowerCase();
    const received = work.received.get(trainer.toLowerCase())?.encoded;
    if (received !== undefined) return received;
    const shaOf = () => data.updateSha(roundId, trainer, index, round.aggregator);
    const held = (): Uint8Array | undefined => {
      const sha = shaOf();
      return data.committedBytes(root.slice(2)) ?? (sha === undefined ? undefined : data.bytes(sha));
    };
    const check = async (bytes: Uint8Array | undefined) => {
      if (bytes === undefined) return undefined;
      const update = await commitUpdateBytes(bytes, this.ctx.paramSize).catch(() => undefined);
      return update?.commitment.root.toLowerCase() === root ? update.encoded : undefined;
    };
    const own = trainer.toLowerCase() === this.ctx.me ? await check(work.updateBytes) : undefined;
    if (own !== undefined) return own;
    const pushed = await check(await this.awaitPush(held, shaOf, work));
    if (pushed !== undefined) return pushed;
    const sha = shaOf();
    // Counted and logged: each one is a second copy of that update if the aggregator's push still comes in full
    // (push 2.0.0 lets this node decline it once the fetch is done; bench:round's compression table counts both).
    this.ctx.stats.lateFetches += 1;
    this.ctx.log.info(
      { roundId, index, sha: sha?.slice(0, 12) },
      "update not pushed within the grace: fetching it",
    );
    const accept = async (bytes: Uint8Array) => {
      const update = await commitUpdateBytes(bytes, this.ctx.paramSize);
      if (update.commitment.root.toLowerCase() !== root) return undefined;
      data.keepUpdate(roundId, round.commitments[index]!, bytes);
      return update.encoded;
    };
    // By sha, these are the very bytes the aggregator pushes: a push of them meanwhile is declined as held.
    // Holders first: a trainer (a group's leader, for a partial) would otherwise serve every watcher the push missed.
    if (sha !== undefined)
      return fetchCommittedUpdate(
        this.ctx,
        roundId,
        round,
        index,
        { sha },
        (bytes) => data.whileChecking(sha, () => accept(bytes)),
        "holders",
      );
    return fetchCommittedUpdate(this.ctx, roundId, round, index, { root: root.slice(2) }, accept, "holders");
  }

  /**
   * The update's bytes once pushed to this node (`held`), waiting until `work.pushesDueBy` at most, or longer while
   * a push of them is arriving (its body is on its way: fetching now would take a second copy; a push that fails
   * ends the wait, and the blob deadline bounds it).
   */
  private async awaitPush(
    held: () => Uint8Array | undefined,
    shaOf: () => string | undefined,
    work: RoundWork,
  ): Promise<Uint8Array | undefined> {
    const until = work.pushesDueBy ?? 0;
    for (;;) {
      const bytes = held();
      const sha = shaOf();
      const arriving = sha !== undefined && this.ctx.options.mesh.blobs.receiving(sha);
      if (bytes !== undefined || (Date.now() >= until && !arriving) || this.ctx.signal.aborted) return bytes;
      await delay(PUSH_POLL_MS, undefined, { signal: this.ctx.signal }).catch(() => undefined);
    }
  }
}
