/**
 * Every update-level attack the simulator and bench:robust run, by name: the classic fixed attacks
 * (attacks.ts) and the adaptive ones (one file each). Each entry says how the attackers' training data is
 * poisoned (if at all) and crafts what they send; stateful attacks get a fresh instance per simulation.
 */
import type { Dataset } from "../training/data/dataset.ts";
import { adaptiveAttack } from "./adaptive.ts";
import { adaptiveBackdoorAttack } from "./adaptive-backdoor.ts";
import { adaptivePersistentAttack } from "./adaptive-persistent.ts";
import { ATTACKS, flipLabels, maliciousUpdates } from "./attacks.ts";
import { backdoorAttack, poisonWithTrigger } from "./backdoor.ts";
import { guardEdgeAttack } from "./guard-edge.ts";
import { SLEEPER_HONEST_SHARE, sleeperAttack } from "./sleeper.ts";
import { createSlowPoisonAttack } from "./slow-poison.ts";
import { sybilAttack } from "./sybil.ts";
import { rotatingTriggerBackdoor } from "./rotating-trigger-backdoor.ts";
import { touchedRowBackdoor } from "./touched-row-backdoor.ts";
import type { UpdateAttack } from "./update-attack.ts";

export const ALL_ATTACKS = [
  ...ATTACKS,
  "backdoor",
  "adaptive-backdoor",
  "touched-row-backdoor",
  "rotating-trigger-backdoor",
  "sybil",
  "adaptive-ipm",
  "adaptive-alie",
  "adaptive-persistent",
  "guard-edge",
  "slow-poison",
  "sleeper",
] as const;
export type AnyAttackName = (typeof ALL_ATTACKS)[number];

/** Attacks whose success is the backdoor metric (triggered images classified as the target). */
export const BACKDOOR_ATTACKS: readonly AnyAttackName[] = [
  "backdoor",
  "adaptive-backdoor",
  "touched-row-backdoor",
  "rotating-trigger-backdoor",
];

/** One attack ready for one simulation of `rounds` rounds. */
export interface PreparedAttack {
  readonly name: AnyAttackName;
  /** The attacker's training data (poisoned for data-level attacks, unchanged otherwise). */
  poisonData(data: Dataset): Dataset;
  readonly updates: UpdateAttack;
  /** The backdoor's triggered test set when its trigger is not backdoor.ts's corner patch. */
  triggered?(test: Dataset): Dataset;
}

/**
 * A fresh instance of attack `name` for one simulation. `density`: the median share of non-zero coordinates in
 * the round's updates (1: dense; top-k compressed below), which the touched-row backdoor calibrates its trigger by.
 */
export function prepareAttack(name: AnyAttackName, rounds: number, density = 1): PreparedAttack {
  const same = (data: Dataset) => data;
  switch (name) {
    case "backdoor":
      return { name, poisonData: poisonWithTrigger, updates: backdoorAttack };
    case "adaptive-backdoor":
      return { name, poisonData: poisonWithTrigger, updates: adaptiveBackdoorAttack };
    case "touched-row-backdoor":
    case "rotating-trigger-backdoor": {
      const attack = (name === "touched-row-backdoor" ? touchedRowBackdoor : rotatingTriggerBackdoor)(
        density,
      );
      return {
        name,
        poisonData: (d) => attack.poisonData(d),
        updates: attack.updates,
        triggered: (t) => attack.triggered(t),
      };
    }
    case "sybil":
      return { name, poisonData: flipLabels, updates: sybilAttack };
    case "adaptive-ipm":
      return { name, poisonData: same, updates: adaptiveAttack("inverse-mean") };
    case "adaptive-alie":
      return { name, poisonData: same, updates: adaptiveAttack("inverse-std") };
    case "adaptive-persistent":
      return { name, poisonData: same, updates: adaptivePersistentAttack };
    case "guard-edge":
      return { name, poisonData: same, updates: guardEdgeAttack };
    case "slow-poison":
      return { name, poisonData: same, updates: createSlowPoisonAttack() };
    case "sleeper":
      return {
        name,
        poisonData: same,
        updates: sleeperAttack(adaptiveAttack("inverse-mean"), Math.floor(rounds * SLEEPER_HONEST_SHARE)),
      };
    case "label-flip":
      return { name, poisonData: flipLabels, updates: { name, craft: ({ own }) => [...own] } };
    default: {
      let previous: Float32Array[] | undefined;
      return {
        name,
        poisonData: same,
        updates: {
          name,
          craft: (round) => {
            const out = maliciousUpdates(name, round.own, round.honest, {
              n: round.n,
              f: round.f,
              seed: round.seed * 1009 + round.round,
              previous,
            });
            // A free-rider replays what it sent last (the stale update it took from the previous round).
            previous = round.own.map((u) => Float32Array.from(u));
            return out;
          },
        },
      };
    }
  }
}
