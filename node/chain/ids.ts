/** Task IDs, round IDs and model references as people type them, parsed into what the contracts take. */
import { isHex, keccak256, stringToBytes } from "viem";
import type { Hex } from "viem";

import { InvalidArgumentError } from "./errors.ts";

/** Parses a positive integer ID ("1", "42") as typed by the user. */
export function parseId(text: string, what: string): bigint {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed) || BigInt(trimmed) === 0n) {
    throw new InvalidArgumentError(`invalid ${what} "${text}": expected a positive integer`);
  }
  return BigInt(trimmed);
}

/**
 * A task's model reference: a 0x-prefixed 32-byte hex value is used as is (a content hash); any other
 * text is hashed with keccak256 so a name like "mnist-mlp-v1" still gives a stable reference.
 */
export function parseModelRef(text: string): Hex {
  if (text.length === 0) throw new InvalidArgumentError("the model reference must not be empty");
  if (isHex(text, { strict: true }) && text.length === 66) return text.toLowerCase() as Hex;
  if (/^0x[0-9a-fA-F]*$/.test(text)) {
    throw new InvalidArgumentError(
      `invalid model reference "${text}": hex must be exactly 32 bytes (0x + 64 digits)`,
    );
  }
  return keccak256(stringToBytes(text));
}
