/**
 * Slow poisoning: one direction of harm fixed in the first round (against that round's honest mean) and
 * pushed a little every round, each time as far as the rule's acceptance test allows. Each round's push is
 * small and looks benign; what it aims at is the sum over many rounds, against rules that judge rounds one
 * at a time. (The long-horizon variant of the NDSS 2021 AGR-tailored attack; see adaptive.ts.)
 */
import { craftAgainstRule, harmDirection } from "./adaptive.ts";
import type { UpdateAttack } from "./update-attack.ts";

/** A fresh slow poisoner (it remembers its direction; one per simulation). */
export function createSlowPoisonAttack(): UpdateAttack {
  let direction: Float32Array | undefined;
  return {
    name: "slow-poison",
    craft: (round) => {
      direction ??= harmDirection(round, "inverse-mean");
      return craftAgainstRule(round, direction);
    },
  };
}
