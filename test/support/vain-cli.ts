/**
 * The `vain-node` binary against a real `hardhat node`, as the CLI tests use it: a chain with the protocol
 * deployed, a data dir with a node key and a keystore funded the way the README says (the local faucet), and the
 * binary run as a separate process with only the environment a test gives it. The checks every CLI test makes of
 * a result: one JSON line, or exit 2 with one line and no stack trace.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { parseEther } from "viem";
import type { Account, Address, Chain, PublicClient, Transport, WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { HARDHAT_DEV_PRIVATE_KEY } from "../../node/chain/accounts.ts";
import { connectChain } from "../../node/chain/clients.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { writeDeployment } from "../../node/chain/deployment.ts";
import type { Deployment } from "../../node/chain/deployment.ts";
import { EXIT_USER_ERROR } from "../../node/cli/main.ts";
import { createKeystore, createNodeKey } from "../../node/keys/keys.ts";
import { runNodeScript, startHardhatNode } from "./hardhat-node.ts";
import type { HardhatNodeProcess } from "./hardhat-node.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The keystore's password in every CLI test's data dir. */
export const CLI_PASSWORD = "correct horse";

export interface CliChain {
  readonly chain: HardhatNodeProcess;
  readonly publicClient: PublicClient<Transport, Chain>;
  /** Hardhat account #0: the deployer, holding the VAIN supply. */
  readonly deployerWallet: WalletClient<Transport, Chain, Account>;
  readonly deployment: Deployment;
  readonly dir: string;
  /** A data dir with a node key and a keystore, funded with `vain-node fund` (tokens and ETH). */
  readonly dataDir: string;
  readonly passwordFile: string;
  readonly deploymentFile: string;
  /** The keystore's address. */
  readonly operator: Address;
  readonly nodePeerId: string;
  /** `--data-dir <dataDir> --password-file <passwordFile>`: the keystore as signer. */
  readonly signer: readonly string[];
  /** Runs the binary with a clean environment: only what the test gives it. */
  cli(args: readonly string[], env?: Record<string, string>): Promise<CliResult>;
  stop(): Promise<void>;
}

/** A chain on `port` with the protocol deployed and a funded keystore data dir (`tokens` VAIN, 10 ETH). */
export async function startCliChain(port: number, tokens = "1000"): Promise<CliChain> {
  delete process.env["VAIN_PASSWORD"]; // children get only the password a test passes
  const dir = await mkdtemp(join(tmpdir(), "vain-chaincli-"));
  const dataDir = join(dir, "node");
  const deploymentFile = join(dir, "deployment.json");
  const passwordFile = join(dir, "password");
  await writeFile(passwordFile, `${CLI_PASSWORD}\n`);
  await mkdir(dataDir, { recursive: true });
  const nodePeerId = (await createNodeKey(join(dataDir, "node.key"))).peerId;
  const operator = (await createKeystore(join(dataDir, "keystore.json"), CLI_PASSWORD, 1024))
    .address as Address;
  const chain = await startHardhatNode(port);
  try {
    const connected = await connectChain(chain.rpcUrl, privateKeyToAccount(HARDHAT_DEV_PRIVATE_KEY));
    const deployerWallet = connected.walletClient!;
    const deployment = await deployProtocol({
      publicClient: connected.publicClient,
      walletClient: deployerWallet,
      rpcUrl: chain.rpcUrl,
    });
    await writeDeployment(deploymentFile, deployment);
    const cli = (args: readonly string[], env: Record<string, string> = {}) =>
      runNodeScript(["node/bin/vain-node.js", ...args], {
        VAIN_DEPLOYMENT: deploymentFile,
        VAIN_RPC_URL: chain.rpcUrl,
        VAIN_PRIVATE_KEY: "",
        VAIN_DATA_DIR: "",
        ...env,
      });
    // The keystore operator is funded the way the README says: the local faucet, from Hardhat account #0.
    const funded = cliJson(await cli(["fund", dataDir, tokens, "--eth", "10", "--json"]));
    assert.equal(funded["to"], operator);
    assert.equal(funded["from"], deployerWallet.account.address);
    assert.equal(funded["tokenBalanceWei"], parseEther(tokens).toString());
    assert.equal(await connected.publicClient.getBalance({ address: operator }), parseEther("10"));
    return {
      chain,
      publicClient: connected.publicClient,
      deployerWallet,
      deployment,
      dir,
      dataDir,
      passwordFile,
      deploymentFile,
      operator,
      nodePeerId,
      signer: ["--data-dir", dataDir, "--password-file", passwordFile],
      cli,
      stop: async () => {
        await chain.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await chain.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The one JSON object a successful `--json` command prints on one line. */
export function cliJson(result: CliResult): Record<string, unknown> {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  const lines = result.stdout.trim().split("\n");
  assert.equal(lines.length, 1, "one JSON object on one line");
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

/** A refused command: exit 2 (EXIT_USER_ERROR), one line on stderr matching `pattern`, no stack trace. */
export function assertUserError(result: CliResult, pattern: RegExp): void {
  assert.equal(
    result.code,
    EXIT_USER_ERROR,
    `expected exit 2, got ${result.code}: ${result.stdout}${result.stderr}`,
  );
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line, got: ${result.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
}
