/**
 * An equivocating trainer: besides the commitment it put on chain, signs a different one for the same
 * round (e.g. to show one aggregator one update and another a different one). Any node holding both
 * signatures reports it (`reportEquivocation`) and the trainer is slashed.
 */
import type { Hex } from "viem";

import type { RoundAdversary } from "./round-adversary.ts";

/** `commitment` with its last byte flipped: a different value, same shape. */
function flipLastByte(commitment: Hex): Hex {
  const last = Number.parseInt(commitment.slice(-2), 16) ^ 0xff;
  return `${commitment.slice(0, -2)}${last.toString(16).padStart(2, "0")}` as Hex;
}

export function equivocate(): Pick<RoundAdversary, "equivocation"> {
  return { equivocation: flipLastByte };
}
