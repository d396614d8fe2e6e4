/**
 * The attacker that searches against the guard alone: adaptive-persistent's push (adaptive.ts: the honest mean
 * plus a shared vector against it, each attacker's noise drawn once for the run), scaled by bisection against the
 * per-round guard's decision without the rule's trainer history (`AttackRound.guard`), and never against the
 * trust. This is what an attacker running the public guard on the revealed updates can do without replaying
 * every earlier round's records: it pushes to the guard's edge in every round whether or not trust already holds
 * it down, so no figure of the rule rests on an attacker that backs off when its weight falls (issue #20: the
 * 2.85 pt of adaptive-persistent before the token weight did).
 */
import { craftAgainstRule, harmDirection } from "./adaptive.ts";
import type { UpdateAttack } from "./update-attack.ts";

/** Seed multiplier of the persistent noise (one draw per run; as adaptive-persistent's, another stream). */
const GUARD_EDGE_NOISE_SEED = 6_007;

export const guardEdgeAttack: UpdateAttack = {
  name: "guard-edge",
  craft: (round) =>
    craftAgainstRule(
      { ...round, weigh: round.guard ?? round.weigh },
      harmDirection(round, "inverse-mean"),
      round.seed * GUARD_EDGE_NOISE_SEED,
    ),
};
