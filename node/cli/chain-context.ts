/**
 * What the chain commands share: the common options (--rpc, --deployment, --data-dir, signer options,
 * --json), signer resolution, connecting and loading the verified deployment, and printing results.
 * Commands stay thin: parse, call one library action, print.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import type { Command } from "commander";
import type { Address, Hex, LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { accountFromPrivateKey } from "../chain/accounts.ts";
import { parseAddress } from "../chain/amounts.ts";
import { connectChain } from "../chain/clients.ts";
import { loadDeployment } from "../chain/deployment.ts";
import { ChainError } from "../chain/errors.ts";
import { protocolAddresses } from "../chain/operator.ts";
import type { OperatorContext, ReadContext, TxProgress } from "../chain/operator.ts";
import { configFromEnv, readConfigFile, resolveConfig } from "../config/config.ts";
import { readPassword, unlockKeystore } from "../keys/keys.ts";

/** Environment variable holding an operator private key (0x + 64 hex digits). */
export const PRIVATE_KEY_ENV = "VAIN_PRIVATE_KEY";
/** File names inside the data directory, as written by `vain-node init`. */
export const KEYSTORE_FILE = "keystore.json";
export const NODE_KEY_FILE = "node.key";
export const CONFIG_FILE = "config.json";

/** Flags every chain command accepts. */
export interface ChainFlags {
  readonly rpc?: string;
  readonly deployment?: string;
  readonly dataDir?: string;
  readonly json?: boolean;
}

/** Flags of commands that sign. */
export interface SignerFlags extends ChainFlags {
  readonly privateKey?: string;
  readonly passwordFile?: string;
}

/** No way to sign was given. */
export class SignerMissingError extends ChainError {
  override readonly name = "SignerMissingError";
  constructor(dataDir: string) {
    super(
      "SIGNER_MISSING",
      `no operator key: pass --private-key <hex>, set ${PRIVATE_KEY_ENV}, or create a keystore with \`vain-node init --data-dir ${dataDir}\``,
    );
  }
}

/** Adds --rpc, --deployment, --data-dir and --json. */
export function addChainOptions(command: Command): Command {
  return command
    .option("--rpc <url>", "JSON-RPC endpoint (default: config rpcUrl, VAIN_RPC_URL, http://127.0.0.1:8545)")
    .option("--deployment <file>", "deployment file (default: VAIN_DEPLOYMENT or deployments/<chainId>.json)")
    .option(
      "--data-dir <dir>",
      "node data directory with config.json, keystore.json, node.key (default .vain)",
    )
    .option("--json", "print one JSON object on stdout (amounts in wei, as decimal strings)");
}

/** Adds the chain options plus --private-key and --password-file. */
export function addSignerOptions(command: Command): Command {
  return addChainOptions(command)
    .option(
      "--private-key <hex>",
      `operator key (prefer env ${PRIVATE_KEY_ENV}: flags show in the process list)`,
    )
    .option("--password-file <file>", "keystore password file (first line; else VAIN_PASSWORD)");
}

/** The data dir and RPC URL from defaults < <dataDir>/config.json < env < flags (node/config). */
export function resolveChainSettings(
  flags: ChainFlags,
  env: NodeJS.ProcessEnv = process.env,
): { dataDir: string; rpcUrl: string } {
  const envLayer = configFromEnv(env);
  const dataDirGuess = flags.dataDir ?? (envLayer["dataDir"] as string | undefined) ?? ".vain";
  const configPath = join(resolve(dataDirGuess), CONFIG_FILE);
  const file = existsSync(configPath) ? readConfigFile(configPath) : {};
  const config = resolveConfig({ file, env: envLayer, flags: { dataDir: flags.dataDir, rpcUrl: flags.rpc } });
  return { dataDir: resolve(config.dataDir), rpcUrl: config.rpcUrl };
}

/**
 * The signing account: --private-key, else $VAIN_PRIVATE_KEY, else the data dir's keystore unlocked with
 * --password-file or $VAIN_PASSWORD. Each failure is a one-line typed error.
 */
export async function resolveSigner(
  flags: SignerFlags,
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LocalAccount> {
  const key = flags.privateKey ?? env[PRIVATE_KEY_ENV];
  if (key !== undefined && key !== "") return accountFromPrivateKey(key.trim());
  const keystore = join(dataDir, KEYSTORE_FILE);
  if (!existsSync(keystore)) throw new SignerMissingError(dataDir);
  const password = await readPassword(flags.passwordFile, env);
  const wallet = await unlockKeystore(keystore, password);
  return privateKeyToAccount(wallet.privateKey as Hex);
}

/**
 * The address whose status to show without unlocking anything: --address, else the key from flag/env,
 * else the keystore's plaintext `address` field (Web3 Secret Storage keeps it outside the ciphertext).
 */
export async function resolveReadAddress(
  flags: SignerFlags & { address?: string },
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Address> {
  if (flags.address !== undefined) return parseAddress(flags.address);
  const key = flags.privateKey ?? env[PRIVATE_KEY_ENV];
  if (key !== undefined && key !== "") return accountFromPrivateKey(key.trim()).address;
  const keystore = join(dataDir, KEYSTORE_FILE);
  if (!existsSync(keystore)) {
    throw new ChainError(
      "SIGNER_MISSING",
      `no operator address: pass --address <addr>, set ${PRIVATE_KEY_ENV}, or point --data-dir at a directory with ${KEYSTORE_FILE}`,
    );
  }
  let address: unknown;
  try {
    address = (JSON.parse(await readFile(keystore, "utf8")) as { address?: unknown }).address;
  } catch {
    address = undefined;
  }
  if (typeof address !== "string") {
    throw new ChainError(
      "INVALID_KEY",
      `keystore ${keystore} has no readable address: pass --address <addr>`,
    );
  }
  return parseAddress(address.startsWith("0x") ? address : `0x${address}`);
}

/** Writes progress to stderr when it is a terminal, so pipes and --json consumers see clean output. */
export function progressReporter(
  stream: NodeJS.WriteStream = process.stderr,
): ((e: TxProgress) => void) | undefined {
  if (stream.isTTY !== true) return undefined;
  return (event) => {
    if (event.kind === "signing") stream.write(`\r\x1b[K${event.action}: signing…`);
    else if (event.kind === "sent")
      stream.write(`\r\x1b[K${event.action}: waiting for transaction ${event.hash}…`);
    else stream.write(`\r\x1b[K`);
  };
}

/** Connects read-only and loads the verified deployment. */
export async function openReadContext(flags: ChainFlags): Promise<ReadContext & { dataDir: string }> {
  const { dataDir, rpcUrl } = resolveChainSettings(flags);
  const { publicClient } = await connectChain(rpcUrl);
  const { deployment } = await loadDeployment(publicClient, { path: flags.deployment, rpcUrl });
  return { publicClient, deployment, contracts: protocolAddresses(deployment), rpcUrl, dataDir };
}

/** Resolves the signer, connects with it and loads the verified deployment. */
export async function openOperatorContext(
  flags: SignerFlags,
): Promise<OperatorContext & { dataDir: string }> {
  const { dataDir, rpcUrl } = resolveChainSettings(flags);
  const account = await resolveSigner(flags, dataDir);
  const { publicClient, walletClient } = await connectChain(rpcUrl, account);
  if (walletClient === undefined) throw new Error("wallet client missing");
  const { deployment } = await loadDeployment(publicClient, { path: flags.deployment, rpcUrl });
  return {
    publicClient,
    walletClient,
    deployment,
    contracts: protocolAddresses(deployment),
    rpcUrl,
    dataDir,
    onProgress: progressReporter(),
  };
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/** Prints `result` as one JSON object with --json, else the human lines. */
export function printResult(flags: ChainFlags, result: object, lines: readonly string[]): void {
  process.stdout.write(flags.json === true ? `${toJson(result)}\n` : `${lines.join("\n")}\n`);
}

/** Unix seconds as an ISO time. */
export function isoFromSeconds(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString();
}
