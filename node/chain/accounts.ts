/**
 * Deployer / operator accounts from private keys, with the well-known Hardhat development key as a
 * default that is only accepted on local chains.
 */
import type { Hex, LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { ChainError } from "./errors.ts";

/** Hardhat's first development account: public knowledge, never holds value. */
export const HARDHAT_DEV_PRIVATE_KEY: Hex =
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/** Chain IDs of local development chains (Hardhat, Anvil/Ganache default). */
export const LOCAL_CHAIN_IDS: readonly number[] = [31337, 1337];

/** Raised for a malformed private key or a development key used on a non-local chain. */
export class InvalidKeyError extends ChainError {
  override readonly name = "InvalidKeyError";
}

/** Parses a 0x-prefixed 32-byte private key into an account. */
export function accountFromPrivateKey(privateKey: string): LocalAccount {
  if (!/^0x[0-9a-fA-F]{64}$/.test(privateKey)) {
    throw new InvalidKeyError("INVALID_KEY", "private key must be 0x followed by 64 hex digits");
  }
  return privateKeyToAccount(privateKey as Hex);
}

/** The given key, or the Hardhat development key when the chain is local. */
export function deployerAccount(chainId: number, privateKey?: string): LocalAccount {
  if (privateKey !== undefined && privateKey !== "") return accountFromPrivateKey(privateKey);
  if (!LOCAL_CHAIN_IDS.includes(chainId)) {
    throw new InvalidKeyError(
      "INVALID_KEY",
      `chain ${chainId} is not a local chain: pass --private-key or set VAIN_PRIVATE_KEY (the development key is refused)`,
    );
  }
  return privateKeyToAccount(HARDHAT_DEV_PRIVATE_KEY);
}
