/**
 * A group leader's update in the parent round (docs/protocol.md §7, hierarchical rounds proven at every level).
 * Its group task's participant committed the group round's aggregate into the parent's round (`commitPartial`,
 * partial-commit.ts); the parent task's participant on the same node then holds that aggregate as its own
 * committed update (`partialUpdateBytes`: the wire bytes whose fixed-point encoding is the aggregate's codes, so
 * they match the commitment the parent round recorded), announces it like a trainer's, and delivers it to the
 * parent round's aggregator when the round aggregates, as a trainer delivers its update (trainer.ts `deliver`).
 */
import type { Hex } from "viem";

import type { RoundContext } from "./context.ts";
import type { ModelSync } from "./model-sync.ts";
import { PartialLeader } from "./partial-commit.ts";
import { partialUpdateBytes } from "./partial-update.ts";
import type { RoundData } from "./round-data.ts";
import type { RoundWork } from "./round-work.ts";
import type { Trainer } from "./trainer.ts";

/**
 * The group round `groupRoundId` this node led had its partial committed into the parent's round: its aggregate,
 * as update bytes, goes to this node's participant of the parent task (`onPartial`), which delivers it there.
 * A leader restarted between its post and the partial commit no longer holds the aggregate it computed: it takes
 * the group round's posted aggregate as any watcher does (its own store, a peer, or a rebuild from the round's
 * updates), checked against the posted commitment (`ModelSync.aggregateOf`). Never rejects.
 */
export async function handOffPartial(
  ctx: RoundContext,
  modelSync: Pick<ModelSync, "aggregateOf">,
  groupWork: RoundWork | undefined,
  groupRoundId: bigint,
  parentRoundId: bigint,
): Promise<void> {
  const fields = { groupRoundId: String(groupRoundId), parentRoundId: String(parentRoundId) };
  const onPartial = ctx.options.onPartial;
  let codes = groupWork?.aggregation?.aggregate;
  if (codes === undefined && onPartial !== undefined) {
    codes = await ctx.chain
      .readRound(groupRoundId)
      .then((round) => modelSync.aggregateOf(groupRoundId, round))
      .then((checked) => checked?.aggregate)
      .catch(() => undefined);
    if (codes !== undefined)
      ctx.log.info(fields, "the group's aggregate, lost in a restart, taken as posted");
  }
  if (codes === undefined || onPartial === undefined) {
    ctx.log.warn(
      fields,
      "the group's partial is committed but no parent participant or aggregate is here: the parent gets no bytes",
    );
    return;
  }
  onPartial(parentRoundId, partialUpdateBytes(codes));
}

/** This node's `PartialLeader` (partial-commit.ts): each partial it commits is handed to the parent's participant. */
export function partialLeaderOf(
  ctx: RoundContext,
  modelSync: Pick<ModelSync, "aggregateOf">,
  workOf: (roundId: bigint) => RoundWork | undefined,
): PartialLeader {
  const { options } = ctx;
  return new PartialLeader({
    chain: ctx.chain,
    me: options.wallet.account.address,
    parentTaskId: options.parentTaskId,
    log: options.log,
    store: options.store,
    onCommitted: (groupRoundId, parentRoundId) =>
      void handOffPartial(ctx, modelSync, workOf(groupRoundId), groupRoundId, parentRoundId),
  });
}

export interface PartialDeliveryComponents {
  readonly data: RoundData;
  readonly trainer: Pick<Trainer, "ownCommitment">;
  readonly workFor: (roundId: bigint) => RoundWork;
}

/**
 * Takes `bytes` as this node's committed update in the parent round `roundId` (a no-op when it holds one): kept
 * for a restart, checked against the commitment the round recorded for this node, announced to the watchers
 * (who recompute the parent's aggregate from its partials) and served by commitment.
 */
export function adoptPartial(
  ctx: RoundContext,
  components: PartialDeliveryComponents,
  roundId: bigint,
  bytes: Uint8Array,
): Promise<void> {
  // Never rejects: a partial that cannot be delivered is logged, and the group round's own pay stands.
  return deliverPartial(ctx, components, roundId, bytes).catch((error: unknown) => {
    ctx.log.warn({ err: error, roundId }, "the group's partial is not delivered to the parent round");
  });
}

async function deliverPartial(
  ctx: RoundContext,
  components: PartialDeliveryComponents,
  roundId: bigint,
  bytes: Uint8Array,
): Promise<void> {
  const work = components.workFor(roundId);
  if (work.updateBytes !== undefined) return;
  const round = await ctx.chain.readRound(roundId);
  const index = round.trainers.findIndex((t) => t.toLowerCase() === ctx.me);
  if (index < 0) throw new Error(`round ${roundId} holds no partial of this node`);
  work.updateBytes = bytes;
  const commitment = await components.trainer.ownCommitment(work);
  const recorded = round.commitments[index]!;
  if (commitment === undefined || commitment.root.toLowerCase() !== recorded.toLowerCase()) {
    // Bytes that do not open the recorded commitment would only get this node's partial refused.
    work.updateBytes = undefined;
    work.ownCommitment = undefined;
    throw new Error(`the group aggregate does not match the partial round ${roundId} recorded`);
  }
  work.committed = true;
  await ctx.options.store?.saveOwnUpdate(roundId, bytes);
  await components.data
    .announceUpdate(roundId, recorded as Hex, round.sampleCounts[index]!, bytes)
    .catch((error: unknown) => ctx.log.warn({ err: error, roundId }, "partial announcement failed"));
  ctx.log.info(
    { roundId, bytes: bytes.length },
    "holding the group's partial as this node's parent-round update",
  );
}
