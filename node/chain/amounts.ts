/**
 * VAIN token amounts as people type and read them ("150", "0.5", "150.0 VAIN"), converted exactly to and
 * from wei with viem's decimal helpers (no floating point anywhere: 0.1 + 0.2 must stay 0.3).
 */
import { formatUnits, getAddress, isAddress, parseUnits } from "viem";
import type { Address } from "viem";

import { ChainError } from "./errors.ts";

/** VainToken's decimals (OpenZeppelin ERC20 default), fixed at deployment. */
export const TOKEN_DECIMALS = 18;
/** The token symbol shown next to amounts. */
export const TOKEN_SYMBOL = "VAIN";

/** A token amount the user typed is not a positive decimal number with at most 18 decimals. */
export class InvalidAmountError extends ChainError {
  override readonly name = "InvalidAmountError";
  constructor(text: string, detail: string) {
    super("INVALID_AMOUNT", `invalid amount "${text}": ${detail} (e.g. 150 or 0.5, in ${TOKEN_SYMBOL})`);
  }
}

/** An Ethereum address the user typed is malformed. */
export class InvalidAddressError extends ChainError {
  override readonly name = "InvalidAddressError";
  constructor(text: string) {
    super("INVALID_ADDRESS", `invalid address "${text}": expected 0x followed by 40 hex digits`);
  }
}

const DECIMAL_PATTERN = /^\d+(\.\d+)?$/;

/**
 * Parses a decimal token amount ("150", "0.5", "1_000" is refused) into wei.
 * Rejects empty, negative, non-numeric, exponent forms, more than 18 decimals and (unless `allowZero`) zero,
 * because the contracts revert on zero amounts and a clear error before signing is kinder.
 */
export function parseTokenAmount(text: string, options: { allowZero?: boolean } = {}): bigint {
  const trimmed = text.trim();
  if (trimmed.startsWith("-")) throw new InvalidAmountError(text, "must not be negative");
  if (!DECIMAL_PATTERN.test(trimmed)) throw new InvalidAmountError(text, "not a decimal number");
  const fraction = trimmed.split(".")[1] ?? "";
  if (fraction.length > TOKEN_DECIMALS) {
    throw new InvalidAmountError(text, `more than ${TOKEN_DECIMALS} decimal places`);
  }
  const wei = parseUnits(trimmed, TOKEN_DECIMALS);
  if (wei === 0n && options.allowZero !== true)
    throw new InvalidAmountError(text, "must be greater than zero");
  return wei;
}

/** Formats wei as a decimal token amount with at least one decimal: 150e18 → "150.0". */
export function formatTokenAmount(wei: bigint): string {
  const text = formatUnits(wei, TOKEN_DECIMALS);
  return text.includes(".") ? text : `${text}.0`;
}

/** Formats wei with the symbol: 150e18 → "150.0 VAIN". */
export function formatTokens(wei: bigint): string {
  return `${formatTokenAmount(wei)} ${TOKEN_SYMBOL}`;
}

/** Validates and checksums an address typed by the user. */
export function parseAddress(text: string): Address {
  const trimmed = text.trim();
  if (!isAddress(trimmed, { strict: false })) throw new InvalidAddressError(text);
  return getAddress(trimmed);
}
