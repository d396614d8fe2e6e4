/**
 * Update poisoning by a trainer: sign flipping and boosting (scaling). The simulator's `maliciousUpdates`
 * and the node's poisoning trainer share these functions; only the magnitude differs (the simulator's
 * sign flip is the textbook ×−1, the demo's poisoner ×−4 so one poisoner visibly moves an unscreened mean).
 */
import type { RoundAdversary } from "./round-adversary.ts";
import { mapFloat32 } from "../core/vectors.ts";

/** The demo's sign-flip magnitude: the update is multiplied by −4. */
export const DEMO_SIGN_FLIP_MAGNITUDE = 4;
/** Boosting factor of the scaled-update attack (as in the simulator's grid). */
export const SCALED_UPDATE_FACTOR = 10;

/** `update × −magnitude`. */
export function signFlip(update: Float32Array, magnitude = 1): Float32Array {
  return mapFloat32(update, (x) => -magnitude * x);
}

/** `update × factor`. */
export function scaleUpdate(update: Float32Array, factor = SCALED_UPDATE_FACTOR): Float32Array {
  return mapFloat32(update, (x) => x * factor);
}

/** A trainer that poisons its update before privacy, clipping and commitment (what it commits is what it sends). */
export function poisonUpdate(
  kind: "sign-flip" | "scaled",
  magnitude = kind === "sign-flip" ? DEMO_SIGN_FLIP_MAGNITUDE : SCALED_UPDATE_FACTOR,
): Pick<RoundAdversary, "transformUpdate"> {
  return {
    transformUpdate: (delta) =>
      kind === "sign-flip" ? signFlip(delta, magnitude) : scaleUpdate(delta, magnitude),
  };
}
