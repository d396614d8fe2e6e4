import { readFile, writeFile } from "node:fs/promises";

import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { Wallet } from "ethers";

/**
 * ethers, imported when a keystore is made or opened: it is ~160 modules, a fifth of what every CLI command
 * loaded before it ran (2026-12-06), and only `init` and keystore-signed commands use it.
 */
const loadEthers = () => import("ethers");

/** A key problem the user can fix (wrong password, missing or corrupt file). */
export class KeyError extends Error {
  readonly code: "KEY_FILE_UNREADABLE" | "KEYSTORE_LOCKED" | "PASSWORD_MISSING";
  constructor(code: KeyError["code"], message: string) {
    super(message);
    this.name = "KeyError";
    this.code = code;
  }
}

/**
 * Creates a fresh Ed25519 libp2p node key and writes it (protobuf-encoded) with mode 0600,
 * refusing to overwrite an existing key: losing a node key loses its peer ID binding on chain.
 */
export async function createNodeKey(path: string): Promise<{ key: PrivateKey; peerId: string }> {
  const key = await generateKeyPair("Ed25519");
  await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: "wx" });
  return { key, peerId: peerIdFromPrivateKey(key).toString() };
}

/** Loads a node key written by {@link createNodeKey}. */
export async function loadNodeKey(path: string): Promise<{ key: PrivateKey; peerId: string }> {
  try {
    const key = privateKeyFromProtobuf(await readFile(path));
    return { key, peerId: peerIdFromPrivateKey(key).toString() };
  } catch (error) {
    throw new KeyError("KEY_FILE_UNREADABLE", `cannot load node key ${path}: ${(error as Error).message}`);
  }
}

/**
 * Creates a new Ethereum account and writes it as an ethers (Web3 Secret Storage) encrypted keystore.
 * `scryptN` is a parameter only so tests stay fast; production uses the ethers default (2^17).
 */
export async function createKeystore(
  path: string,
  password: string,
  scryptN?: number,
): Promise<{ address: string }> {
  const { Wallet, encryptKeystoreJson } = await loadEthers();
  const wallet = Wallet.createRandom();
  const json = await encryptKeystoreJson(
    { address: wallet.address, privateKey: wallet.privateKey },
    password,
    scryptN === undefined ? {} : { scrypt: { N: scryptN } },
  );
  await writeFile(path, json, { mode: 0o600, flag: "wx" });
  return { address: wallet.address };
}

/** Decrypts a keystore; a wrong password is a KeyError, not a crash. */
export async function unlockKeystore(path: string, password: string): Promise<Wallet> {
  let json: string;
  try {
    json = await readFile(path, "utf8");
  } catch (error) {
    throw new KeyError("KEY_FILE_UNREADABLE", `cannot read keystore ${path}: ${(error as Error).message}`);
  }
  const { Wallet } = await loadEthers();
  try {
    const wallet = await Wallet.fromEncryptedJson(json, password);
    return wallet instanceof Wallet ? wallet : new Wallet(wallet.privateKey);
  } catch {
    throw new KeyError("KEYSTORE_LOCKED", `cannot unlock keystore ${path}: wrong password or corrupt file`);
  }
}

/** Reads the keystore password from a file (first line) or the VAIN_PASSWORD environment variable. */
export async function readPassword(
  passwordFile: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string> {
  if (passwordFile !== undefined) {
    try {
      return (await readFile(passwordFile, "utf8")).split(/\r?\n/)[0] ?? "";
    } catch (error) {
      throw new KeyError(
        "KEY_FILE_UNREADABLE",
        `cannot read password file ${passwordFile}: ${(error as Error).message}`,
      );
    }
  }
  const fromEnv = env["VAIN_PASSWORD"];
  if (fromEnv === undefined) {
    throw new KeyError("PASSWORD_MISSING", "no keystore password: pass --password-file or set VAIN_PASSWORD");
  }
  return fromEnv;
}
