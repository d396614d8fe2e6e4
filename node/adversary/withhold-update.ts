/**
 * A withholding trainer: commits (and so claims a slot and a share of the reward) but never delivers its
 * update. The aggregator posts weight 0 for it and the round goes on without it; it earns nothing.
 */
import type { RoundAdversary } from "./round-adversary.ts";

export function withholdUpdate(): Pick<RoundAdversary, "withholdsUpdate"> {
  return { withholdsUpdate: () => true };
}
