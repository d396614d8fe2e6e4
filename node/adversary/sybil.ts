/**
 * Coordinated sybils: every attacker trains on label-flipped data (the caller flips their data, as for the
 * label-flip attack), they pool their updates and all send the pooled update with a tiny independent
 * jitter (1% of the honest per-coordinate spread), so each looks like an ordinary trainer while together they
 * push one poisoned direction with f times the weight. The case FoolsGold is built for: Fung, Yoon,
 * Beschastnikh, "The Limitations of Federated Learning in Sybil Settings", RAID 2020.
 */
import { Rng } from "../core/rng.ts";
import { meanAndStd, medianNorm, withNormAtMost } from "./update-attack.ts";
import type { UpdateAttack } from "./update-attack.ts";
import { mapFloat32 } from "../core/vectors.ts";

/** Jitter in units of the honest per-coordinate spread: enough that no two updates are bit-identical. */
export const SYBIL_JITTER = 0.01;

export const sybilAttack: UpdateAttack = {
  name: "sybil",
  craft: ({ own, honest, seed, round }) => {
    const pooled = withNormAtMost(meanAndStd(own).mean, medianNorm(honest));
    const { std } = meanAndStd(honest);
    const rng = new Rng(seed * 104_729 + round);
    return own.map(() => mapFloat32(pooled, (x, i) => x + SYBIL_JITTER * std[i]! * rng.normal()));
  },
};
