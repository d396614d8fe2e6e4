/**
 * The deployment file: where the contracts live on a chain. Written by `deployProtocol`
 * (scripts/deploy.ts, `vain-node deploy`, the demo) and read by the node and the dashboard.
 * Schema and default location: docs/protocol.md §1.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";

import { keccak256 } from "viem";
import type { Address, Hex, PublicClient } from "viem";
import { z } from "zod";

import {
  ChainUnreachableError,
  DeploymentInvalidError,
  DeploymentMissingError,
  DeploymentStaleError,
  WrongChainError,
} from "./errors.ts";

/** Directory, relative to the working directory, where deployment files go by default. */
export const DEFAULT_DEPLOYMENTS_DIR = "deployments";
/** Environment variable that overrides the deployment file path. */
export const DEPLOYMENT_ENV = "VAIN_DEPLOYMENT";

const addressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "expected a 20-byte hex address");
const hashSchema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "expected a 32-byte hex hash");

const deployedContractSchema = z.object({
  address: addressSchema,
  /** `extcodehash` at deployment: detects a restarted chain that reuses the address for other code. */
  codeHash: hashSchema,
  transactionHash: hashSchema,
});

export const deploymentSchema = z.object({
  version: z.literal(1),
  chainId: z.number().int().positive(),
  rpcUrl: z.string().optional(),
  deploymentBlock: z.number().int().nonnegative(),
  deployedAt: z.string(),
  deployer: addressSchema,
  /** "groth16" for the generated zk verifier, "test" for the test-only verifier (no security). */
  verifierKind: z.enum(["groth16", "test"]),
  contracts: z.object({
    VainToken: deployedContractSchema,
    StakeRegistry: deployedContractSchema,
    TrainingRounds: deployedContractSchema,
    AggregationVerifier: deployedContractSchema,
  }),
  /** Where the ABIs are: the node package's generated module. */
  abis: z.string(),
});

export type Deployment = z.infer<typeof deploymentSchema>;
export type ContractName = keyof Deployment["contracts"];

/** The default deployment file for a chain: `deployments/<chainId>.json` under `cwd`. */
export function defaultDeploymentPath(chainId: number, cwd: string = process.cwd()): string {
  return resolve(cwd, DEFAULT_DEPLOYMENTS_DIR, `${chainId}.json`);
}

/**
 * Resolves which deployment file to use: an explicit path wins, then `$VAIN_DEPLOYMENT`, then the
 * default for the chain ID.
 */
export function resolveDeploymentPath(options: { path?: string; chainId: number; cwd?: string }): string {
  const explicit = options.path ?? process.env[DEPLOYMENT_ENV];
  if (explicit !== undefined && explicit !== "") return resolve(options.cwd ?? process.cwd(), explicit);
  return defaultDeploymentPath(options.chainId, options.cwd);
}

/** Reads and validates a deployment file (no chain access). */
export async function readDeployment(path: string): Promise<Deployment> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new DeploymentMissingError(path);
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DeploymentInvalidError(path, "not valid JSON");
  }
  const parsed = deploymentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DeploymentInvalidError(
      path,
      `${issue?.path.join(".") ?? "?"}: ${issue?.message ?? "bad value"}`,
    );
  }
  return parsed.data;
}

/** Writes a deployment file atomically (temp file + rename), creating its directory. */
export async function writeDeployment(path: string, deployment: Deployment): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  await writeFile(temp, `${JSON.stringify(deployment, null, 2)}\n`);
  await rename(temp, path);
}

/**
 * Checks a deployment against a live chain: same chain ID, and every contract's code hash unchanged.
 * Throws `ChainUnreachableError`, `WrongChainError` or `DeploymentStaleError`.
 */
export async function verifyDeployment(
  client: PublicClient,
  deployment: Deployment,
  path: string,
  rpcUrl: string,
): Promise<void> {
  let chainId: number;
  try {
    chainId = await client.getChainId();
  } catch (error) {
    throw new ChainUnreachableError(rpcUrl, error);
  }
  if (chainId !== deployment.chainId) {
    throw new WrongChainError(deployment.chainId, chainId, `deployment file ${path}`);
  }
  const entries = Object.entries(deployment.contracts) as [
    ContractName,
    Deployment["contracts"][ContractName],
  ][];
  await Promise.all(
    entries.map(async ([name, contract]) => {
      const code = await client.getCode({ address: contract.address as Address });
      if (code === undefined || code === "0x") {
        throw new DeploymentStaleError(path, name, contract.address, "has no code");
      }
      if (keccak256(code as Hex) !== contract.codeHash) {
        throw new DeploymentStaleError(path, name, contract.address, "holds different code");
      }
    }),
  );
}

/** Reads the deployment file for the chain behind `client` and verifies it against the chain. */
export async function loadDeployment(
  client: PublicClient,
  options: { path?: string; rpcUrl: string; cwd?: string },
): Promise<{ deployment: Deployment; path: string }> {
  let chainId: number;
  try {
    chainId = await client.getChainId();
  } catch (error) {
    throw new ChainUnreachableError(options.rpcUrl, error);
  }
  const path = resolveDeploymentPath({ path: options.path, chainId, cwd: options.cwd });
  const deployment = await readDeployment(path);
  await verifyDeployment(client, deployment, path, options.rpcUrl);
  return { deployment, path };
}
