/**
 * A posted aggregate rebuilt from the round's committed updates, for when nobody serves its bytes: an aggregator
 * that withholds them, or one that lost them (wiped in CHALLENGING, soak 8f) while every watcher that had
 * recomputed them was down. A finalized round's model then still follows from data the protocol already keeps
 * available (each weighted update is held by its trainer, its replica holders and, after a proven post, by
 * every watcher), so one withheld blob cannot stall a task. Every update is checked against its on-chain
 * commitment and the result against the posted aggregate commitment: peers can only fail to help, never mislead.
 */
import { aggregateFixedPoint, commitEncoded, encodeFixedPoint } from "../../proofs/index.ts";
import type { UpdateCommitment } from "../../proofs/index.ts";
import { commitUpdateBytes } from "../update.ts";
import { fetchCommittedUpdate } from "./aggregation-recovery.ts";
import type { RoundContext, RoundView } from "./context.ts";
import type { RoundData } from "./round-data.ts";

/** An encoded aggregate whose commitment is the round's posted one. */
export interface CheckedAggregate {
  readonly aggregate: Uint16Array;
  readonly commitment: UpdateCommitment;
}

/**
 * The round's aggregate recomputed in fixed point from its weighted updates with the posted weights (the
 * flat rule every proven round follows); undefined when an update cannot be had or the result is not the
 * posted aggregate (e.g. a round whose aggregate is not a weighted mean of its on-chain updates).
 */
export async function aggregateFromUpdates(
  ctx: RoundContext,
  data: RoundData,
  roundId: bigint,
  round: RoundView,
): Promise<CheckedAggregate | undefined> {
  if (!round.weights.some((w) => w > 0n)) return undefined;
  const recomputed = await recomputeAggregate(ctx, roundId, round, (i) =>
    committedUpdate(ctx, data, roundId, round, i),
  );
  if (recomputed === undefined) return undefined;
  const { aggregate, commitment } = recomputed;
  if (commitment.root.toLowerCase() !== round.aggregateCommitment.toLowerCase()) return undefined;
  ctx.log.info({ roundId }, "rebuilt a posted aggregate nobody served from the round's committed updates");
  return { aggregate, commitment };
}

/**
 * The aggregate of a round's updates in fixed point with its posted weights, and its commitment, as its
 * aggregator computes it (a weight-0 trainer counts as zeros); undefined while an update cannot be had.
 */
export async function recomputeAggregate(
  ctx: RoundContext,
  roundId: bigint,
  round: RoundView,
  updateOf: (index: number) => Promise<Uint16Array | undefined>,
): Promise<CheckedAggregate | undefined> {
  const weights = round.weights.map(Number);
  const zero = encodeFixedPoint(new Float32Array(ctx.paramSize));
  const encoded: Uint16Array[] = [];
  for (let i = 0; i < round.trainers.length; i++) {
    const update = weights[i] === 0 ? zero : await updateOf(i);
    if (update === undefined) {
      ctx.log.debug(
        { roundId, trainer: round.trainers[i] },
        "an update to recompute from is not available yet",
      );
      return undefined;
    }
    encoded.push(update);
  }
  const { aggregate } = aggregateFixedPoint(encoded, weights);
  return { aggregate, commitment: await commitEncoded(aggregate) };
}

/** Trainer `i`'s update, held or fetched by its on-chain commitment, checked against it and kept to serve. */
async function committedUpdate(
  ctx: RoundContext,
  data: RoundData,
  roundId: bigint,
  round: RoundView,
  i: number,
): Promise<Uint16Array | undefined> {
  const commitment = round.commitments[i]!;
  const root = commitment.slice(2).toLowerCase();
  const check = async (bytes: Uint8Array | undefined) => {
    if (bytes === undefined) return undefined;
    const update = await commitUpdateBytes(bytes, ctx.paramSize).catch(() => undefined);
    return update?.commitment.root.toLowerCase() === `0x${root}` ? update.encoded : undefined;
  };
  const held = await check(data.committedBytes(root));
  if (held !== undefined) return held;
  // After the post: its seeds, the nodes they relayed to and the watchers hold it: asked before its trainer.
  return fetchCommittedUpdate(
    ctx,
    roundId,
    round,
    i,
    { root },
    async (bytes) => {
      const encoded = await check(bytes);
      if (encoded !== undefined) data.keepUpdate(roundId, commitment, bytes);
      return encoded;
    },
    "holders",
  );
}
