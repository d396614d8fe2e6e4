/**
 * FedBuff staleness on the network (docs/protocol.md §7, "Buffered rounds"). In a buffered task a trainer commits
 * into whichever round is open when its training ends and names the base model it trained from; τ is the number of model steps
 * between that base and the round's base, counted on chain: each posted round names its base, and a derived ref
 * names its round in its low 64 bits (next-model.ts). The aggregator multiplies each accepted weight by
 * (1 + τ)^-a before posting, so the proven aggregate is the discounted weighted mean and rewards follow it.
 * Anyone can recount τ from the base the trainer named (its push, or its signed announcement) and the chain.
 */
import type { Hex } from "viem";

import type { TaskSpec } from "../task-spec.ts";
import type { RoundView } from "./context.ts";
import { roundOfModelRef } from "./next-model.ts";

/** Model steps from `base` forward to `current`, walking `current`'s ancestry; undefined past `max` or off the chain. */
export async function modelStepsBetween(
  readRound: (roundId: bigint) => Promise<RoundView>,
  current: Hex,
  base: Hex,
  max: number,
): Promise<number | undefined> {
  let ref = current.toLowerCase();
  const wanted = base.toLowerCase();
  for (let steps = 0; steps <= max; steps++) {
    if (ref === wanted) return steps;
    const producer = roundOfModelRef(ref as Hex);
    if (producer === undefined) return undefined;
    const round = await readRound(producer).catch(() => undefined);
    // The task's initial model is a content hash: its low bits name no round that posted it.
    if (round === undefined || !round.posted || round.modelRef.toLowerCase() !== ref) return undefined;
    ref = round.baseModelRef.toLowerCase();
  }
  return undefined;
}

/**
 * An accepted weight discounted for τ steps of staleness: at least 1 (an accepted update keeps counting and is
 * paid), 0 when it was rejected or its base is unknown or older than the task allows (`tau` undefined).
 */
export function discountedWeight(weight: number, tau: number | undefined, exponent: number): number {
  if (tau === undefined || !(weight > 0)) return 0;
  return Math.max(1, Math.floor(weight * (1 + tau) ** -exponent));
}

/** What the discount reads: the task's round settings and the chain's rounds. */
export interface StalenessContext {
  readonly options: { readonly spec: Pick<TaskSpec, "rounds"> };
  readonly chain: { readRound(roundId: bigint): Promise<RoundView> };
}

/**
 * The round's weights with FedBuff's staleness discount (unchanged in a synchronous task). `updates[i]?.base` is
 * the base trainer i named; a trainer that named none trained from the round's base (τ = 0).
 */
export async function discountStaleWeights(
  ctx: StalenessContext,
  round: Pick<RoundView, "baseModelRef">,
  updates: readonly ({ readonly base?: Hex } | undefined)[],
  weights: readonly number[],
): Promise<{ weights: number[]; staleness: (number | undefined)[] }> {
  const { rounds } = ctx.options.spec;
  const readRound = (id: bigint) => ctx.chain.readRound(id);
  if (rounds.mode !== "fedbuff") return { weights: [...weights], staleness: weights.map(() => 0) };
  const staleness: (number | undefined)[] = [];
  const out: number[] = [];
  for (const [i, weight] of weights.entries()) {
    const tau =
      weight > 0
        ? await modelStepsBetween(
            readRound,
            round.baseModelRef,
            updates[i]?.base ?? round.baseModelRef,
            rounds.maxStaleness,
          )
        : undefined;
    staleness.push(tau);
    out.push(discountedWeight(weight, tau, rounds.stalenessExponent));
  }
  return { weights: out, staleness };
}
