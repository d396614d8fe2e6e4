/**
 * The sleeper: sends its honestly trained updates for the first rounds (building reputation and a benign
 * history with any rule that keeps one), then turns into another attack. Against a rule with memory this is
 * the worst time to attack; against a memoryless rule it is the inner attack on fewer rounds.
 */
import type { UpdateAttack } from "./update-attack.ts";

/** Rounds of good behaviour before the attack starts, as a share of the run (half). */
export const SLEEPER_HONEST_SHARE = 0.5;

/** A sleeper that behaves for `honestRounds` rounds, then plays `inner`. */
export function sleeperAttack(inner: UpdateAttack, honestRounds: number): UpdateAttack {
  return {
    name: `sleeper(${inner.name})`,
    craft: (round) =>
      round.round <= honestRounds ? round.own.map((u) => Float32Array.from(u)) : inner.craft(round),
  };
}
