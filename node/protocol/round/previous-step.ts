/**
 * The previous round's public model step, for the guarded mean's history test (aggregation/guarded-mean.ts,
 * `minHistoryCosine`): this round's base model minus the base of the round that produced it. Both models are
 * public (every node derives them from the posted aggregates, model-sync.ts), and both are fixed before this
 * round's trainers speak, so anyone holding the revealed updates recomputes the same screening, and no
 * coalition of this round's senders can move the reference (docs/protocol.md §8).
 */
import type { Hex } from "viem";

import type { RoundContext } from "./context.ts";
import type { ModelSync } from "./model-sync.ts";
import { roundOfModelRef } from "./next-model.ts";
import { difference } from "../../core/updates.ts";

/**
 * `base` (the model named `baseRef`) minus the model the round that derived it started from; undefined when
 * `baseRef` is a task's initial model (a first round has no step to compare with), or when the parent model
 * cannot be had (the rule then screens without history, as before).
 */
export async function previousModelStep(
  ctx: Pick<RoundContext, "chain">,
  modelSync: Pick<ModelSync, "ensureModel">,
  baseRef: Hex,
  base: Float32Array,
): Promise<Float32Array | undefined> {
  const roundId = roundOfModelRef(baseRef);
  if (roundId === undefined) return undefined;
  const producer = await ctx.chain.readRound(roundId).catch(() => undefined);
  // A ref that only looks like a round's (its low bits name a round that did not post it) has no step.
  if (producer === undefined || !producer.posted || producer.modelRef.toLowerCase() !== baseRef.toLowerCase())
    return undefined;
  const parent = await modelSync.ensureModel(producer.baseModelRef);
  if (parent === undefined || parent.length !== base.length) return undefined;
  return difference(base, parent);
}
