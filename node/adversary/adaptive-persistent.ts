/**
 * The adaptive attack against a rule with trainer history: as adaptive-ipm (adaptive.ts: the shared vector
 * against the honest mean, scaled by bisection to the largest value the rule accepts), but each attacker's
 * noise ξ_i is drawn once for the whole run, so its deviation from the mean persists from round to round as
 * an honest trainer's does. It targets the persistence evidence of node/aggregation/trainer-trust.ts, which
 * gives low trust to deviations that are fresh noise every round. The acceptance test it bisects against is
 * the rule's own, history included (bench:robust's oracle sees every real round).
 */
import { craftAgainstRule, harmDirection } from "./adaptive.ts";
import type { UpdateAttack } from "./update-attack.ts";

/** Seed multiplier of the persistent noise (one draw per run, independent of the round). */
const PERSISTENT_NOISE_SEED = 7_919;

export const adaptivePersistentAttack: UpdateAttack = {
  name: "adaptive-persistent",
  craft: (round) =>
    craftAgainstRule(round, harmDirection(round, "inverse-mean"), round.seed * PERSISTENT_NOISE_SEED),
};
