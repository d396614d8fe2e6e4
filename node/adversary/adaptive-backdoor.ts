/**
 * The adaptive backdoor: the backdoor attacker (backdoor.ts: trains on its data plus trigger-stamped copies
 * relabelled to the target, norm at most the honest median) that also knows the rule and tunes how much of its
 * update it lets into the coordinates honest trainers leave at zero. Those coordinates (the weights the blank
 * trigger pixels feed) are where the backdoor lives and where the guarded mean's silent-coordinate test looks
 * (node/aggregation/guarded-mean.ts, `maxSilentRatio`, `maxSilentShareCap`): the attacker sends its update
 * outside them as trained, and inside them scaled by γ, the largest the rule's own decision accepts (bisection,
 * as adaptive.ts), or half that when half moves the weighted output further (trust lowers a suspicious
 * update's weight). Nothing opposes the trigger weights between rounds (honest gradients there are exactly 0),
 * so a push kept just under the bound each round still accumulates: this is the attack the bound's cap must
 * hold against. Without the rule's decision it is the plain backdoor.
 */
import { ADAPTIVE_BACKOFF, ADAPTIVE_MAX_SCALE } from "./adaptive.ts";
import { backdoorAttack } from "./backdoor.ts";
import { medianNorm, withNormAtMost } from "./update-attack.ts";
import type { UpdateAttack } from "./update-attack.ts";
import { mapFloat32 } from "../core/vectors.ts";

/**
 * Bisection steps on γ in [0, 1]: the accepted γ is small (a 0.005 share of the typical energy against a trained
 * trigger share of 0.01-0.3 is γ 0.13-0.7), so adaptive.ts's 6 steps over [0, 10] would find 0; 10 steps
 * resolve 1/1024.
 */
export const ADAPTIVE_BACKDOOR_STEPS = 10;

/**
 * The largest γ the rule accepts for every attacker: doubling from 1 while accepted (up to
 * ADAPTIVE_MAX_SCALE), else bisection in [0, 1]; undefined when even γ = 0 is rejected.
 */
export function largestAcceptedGamma(accepts: (gamma: number) => boolean): number | undefined {
  if (!accepts(0)) return undefined;
  if (accepts(1)) {
    let gamma = 1;
    while (gamma * 2 <= ADAPTIVE_MAX_SCALE && accepts(gamma * 2)) gamma *= 2;
    return gamma;
  }
  let low = 0;
  let high = 1;
  for (let step = 0; step < ADAPTIVE_BACKDOOR_STEPS; step++) {
    const mid = (low + high) / 2;
    if (accepts(mid)) low = mid;
    else high = mid;
  }
  return low;
}

/**
 * Coordinates a trimmed test would call silent were the attackers' values 0 there (1 = silent): at most `trim`
 * honest values above 0 and at most `trim` below. The rule trims as many values per side as it assumes
 * attackers; the attackers take their own count. Not only the trigger's weights: on MNIST most pixels are blank
 * in all but a few images, and an attacker's honestly trained values there already count as silent energy
 * (measured: the plain backdoor's update was rejected for it in every round even with its trigger part at 0).
 */
function silentMask(honest: readonly Float32Array[], trim: number): Uint8Array {
  const size = honest[0]?.length ?? 0;
  const silent = new Uint8Array(size);
  for (let j = 0; j < size; j++) {
    let above = 0;
    let below = 0;
    for (const u of honest) {
      if (u[j]! > 0) above++;
      else if (u[j]! < 0) below++;
    }
    silent[j] = above <= trim && below <= trim ? 1 : 0;
  }
  return silent;
}

export const adaptiveBackdoorAttack: UpdateAttack = {
  name: "adaptive-backdoor",
  craft: (round) => {
    const { own, honest, weigh } = round;
    if (weigh === undefined || honest.length === 0) return backdoorAttack.craft(round);
    const bound = medianNorm(honest);
    const silent = silentMask(honest, own.length);
    const f = own.length;
    // Each attacker's trigger part scaled to the same energy (γ² × the largest one's): one γ for all then puts
    // every attacker at the bound, not only the one that trained the most trigger energy.
    const energies = own.map((u) => u.reduce((e, x, j) => (silent[j] === 1 ? e + x * x : e), 0));
    const top = Math.max(...energies);
    const level = energies.map((e) => (e === 0 ? 0 : Math.sqrt(top / e)));
    const build = (gamma: number) =>
      own.map((u, i) =>
        withNormAtMost(
          mapFloat32(u, (x, j) => (silent[j] === 1 ? gamma * level[i]! * x : x)),
          bound,
        ),
      );
    const accepts = (candidates: readonly Float32Array[]) =>
      weigh(candidates)
        .slice(0, f)
        .every((w) => w > 0);
    const largest = largestAcceptedGamma((gamma) => accepts(build(gamma)));
    // Even the trigger-free part is rejected: send the plain backdoor (rejected as well, nothing lost).
    if (largest === undefined) return backdoorAttack.craft(round);
    // The push into the trigger weights is γ times the attackers' summed weight.
    let best = { push: -Infinity, candidates: build(largest) };
    for (const share of ADAPTIVE_BACKOFF) {
      const candidates = build(largest * share);
      const push =
        largest *
        share *
        weigh(candidates)
          .slice(0, f)
          .reduce((a, b) => a + b, 0);
      if (push > best.push) best = { push, candidates };
    }
    return best.candidates;
  },
};
