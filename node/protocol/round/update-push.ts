/**
 * A trainer's delivery of its committed update (AGGREGATING): where the update goes, and one push of it with the
 * back-off after a failure. Trainer.deliver decides when; trainer.ts trains and commits.
 */
import type { Address, Hex } from "viem";

import type { RoundTree } from "../hierarchy.ts";
import { UPLOAD_ATTEMPTS_BEFORE_FALLBACK } from "./context.ts";
import type { RoundContext } from "./context.ts";
import type { Delivery } from "./delivery.ts";
import { pushRetryDelayMs } from "./push-backoff.ts";
import type { AggregatorWork, TrainerWork } from "./round-work.ts";

/**
 * Where `me`'s update goes: the aggregator in flat rounds, its sub-aggregator in hierarchical ones, and the
 * round's aggregator itself when the sub-aggregator cannot be reached in time (it accepts any trainer).
 */
export function uploadTarget(
  me: string,
  tree: RoundTree,
  work: TrainerWork & Pick<AggregatorWork, "aggregatingSince">,
  waitMs: number,
): string {
  const parent = tree.plan.parentOf.get(me) ?? tree.root;
  const stuck =
    work.pushFailures >= UPLOAD_ATTEMPTS_BEFORE_FALLBACK ||
    Date.now() - (work.aggregatingSince ?? Date.now()) > waitMs / 2;
  return parent !== tree.root && stuck ? tree.root : parent;
}

export interface PushUpdateParameters {
  readonly roundId: bigint;
  /** The aggregator, or the sub-aggregator in hierarchical rounds. */
  readonly target: Address;
  readonly work: TrainerWork & Pick<AggregatorWork, "takeovers">;
  /** The aggregator's wait (ms): bounds the back-off before the next attempt. */
  readonly waitMs: number;
  /** The base the update names (buffered tasks only). */
  readonly base: Hex | undefined;
}

/** Sends the committed update once; a failure is counted and the next attempt put off (push-backoff.ts). */
export async function pushUpdate(
  ctx: RoundContext,
  delivery: Delivery,
  { roundId, target, work, waitMs, base }: PushUpdateParameters,
): Promise<void> {
  const bytes = work.updateBytes;
  if (bytes === undefined) return;
  const takeovers = work.takeovers;
  const started = Date.now();
  try {
    await delivery.pushTo(target, "update", bytes, roundId, base);
    // A push to an aggregator that was replaced meanwhile delivered nothing that counts.
    if (work.takeovers === takeovers) work.delivered = true;
    ctx.stats.bytesSent += bytes.length;
    ctx.log.info({ roundId, to: target, bytes: bytes.length, ms: Date.now() - started }, "update delivered");
  } catch (error) {
    work.pushFailures += 1;
    work.pushAgainAt = Date.now() + pushRetryDelayMs(work.pushFailures, waitMs);
    // Info, not debug: a delivery that takes retries is where a large round's time goes (#21, 128 nodes).
    ctx.log.info(
      { err: error, roundId, to: target, failures: work.pushFailures, ms: Date.now() - started },
      "update push failed; will retry",
    );
  }
}
