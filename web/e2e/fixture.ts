/**
 * The browser test's world: a real Hardhat chain with the real contracts, the node's real status server fed
 * from the chain (ChainStatusSource), and headless Chromium. The "node" here is the status side of the node's
 * runtime, wired the way node/runtime/vain-node.ts wires it: the round history kept in the data directory
 * (HistoryFile), peers' reputation from the persisted ReputationBook, and the chain-reset watch raising the
 * CHAIN_RESET alert. `restartNode()` and `resetChain()` are what the restart and stale-chain steps exercise.
 *
 * Ports: 18610 (hardhat node), 18611 (status server).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import chromium from "@sparticuz/chromium";
import { chromium as playwright } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { bytesToHex, createPublicClient, createTestClient, createWalletClient, http, parseEther } from "viem";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { ChainStatusSource } from "../../node/api/chain-source.ts";
import type { RoundTrainingFigures } from "../../node/api/chain-source.ts";
import { createStatusServer } from "../../node/api/server.ts";
import type { StatusServer } from "../../node/api/server.ts";
import { HARDHAT_DEV_PRIVATE_KEY } from "../../node/chain/accounts.ts";
import { localChain } from "../../node/chain/clients.ts";
import { stakeRegistryAbi, trainingRoundsAbi, vainTokenAbi } from "../../node/chain/contracts.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import type { Deployment } from "../../node/chain/deployment.ts";
import { ReputationBook } from "../../node/reputation/index.ts";
import { ChainResetWatch } from "../../node/runtime/chain-watch.ts";
import { HistoryFile } from "../../node/runtime/history-file.ts";
import { startHardhatNode } from "../../test/support/hardhat-node.ts";
import type { HardhatNodeProcess } from "../../test/support/hardhat-node.ts";
import { ensureDashboardBuilt } from "./build-dashboard.ts";

export const HARDHAT_PORT = 18610;
export const API_PORT = 18611;
export const OUT = fileURLToPath(new URL("../../test-output/dashboard/", import.meta.url));
/** Hardhat's well-known development keys #1 (the user staking in the page) and #2 (another node). */
export const USER_KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const AGGREGATOR_KEY: Hex = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
export const DESKTOP = { width: 1280, height: 900 };
/** The narrowest common phone (iPhone SE/mini class). */
export const PHONE = { width: 375, height: 812 };
export const WAIT_MS = 20_000;
/**
 * @sparticuz/chromium's flags are tuned for AWS Lambda. Drop the ones that would make this test unlike a
 * user's browser or flaky: single-process mode (hangs when contexts are opened and closed repeatedly) and
 * disabled web security (the page must pass the real CORS and CSP checks).
 */
const DROPPED_FLAGS = new Set([
  "--single-process",
  "--disable-web-security",
  "--allow-running-insecure-content",
]);
const BROWSER_ARGS = chromium.args.filter((flag) => !DROPPED_FLAGS.has(flag));

export type Wallet = WalletClient<Transport, Chain, Account>;

/** Waits until the text of `selector` matches `pattern`; fails with the last text seen. */
export async function waitText(
  page: Page,
  selector: string,
  pattern: RegExp,
  timeoutMs = WAIT_MS,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    last = (await page.textContent(selector)) ?? "";
    if (pattern.test(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`${selector} never matched ${pattern}; last text: "${last}"`);
}

/** Waits until `attribute` of `selector` matches `pattern`. */
export async function waitAttribute(
  page: Page,
  selector: string,
  attribute: string,
  pattern: RegExp,
): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  let last = "";
  while (Date.now() < deadline) {
    last = (await page.getAttribute(selector, attribute)) ?? "";
    if (pattern.test(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`${selector}[${attribute}] never matched ${pattern}; last: "${last}"`);
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

async function launchBrowser(): Promise<Browser> {
  let executablePath: string;
  try {
    executablePath = await chromium.executablePath();
  } catch (error) {
    throw new Error(
      `Chromium could not be unpacked from @sparticuz/chromium (${(error as Error).message}); run \`npm install\` and check that /tmp is writable`,
    );
  }
  try {
    return await playwright.launch({ executablePath, args: BROWSER_ARGS, headless: true });
  } catch (error) {
    throw new Error(
      `Chromium at ${executablePath} could not start, so the dashboard cannot be tested: ${(error as Error).message.split("\n")[0]}`,
    );
  }
}

export class DashboardFixture {
  hardhat!: HardhatNodeProcess;
  hardhatStopped = false;
  publicClient!: PublicClient<Transport, Chain>;
  testClient!: ReturnType<typeof createTestClient>;
  deployer!: Wallet;
  user!: Wallet;
  aggregator!: Wallet;
  deployment!: Deployment;
  contracts!: { token: Address; stakeRegistry: Address; trainingRounds: Address };
  source!: ChainStatusSource;
  server!: StatusServer;
  watch!: ChainResetWatch;
  baseUrl!: string;
  browser!: Browser;
  uiDir!: string;
  nodePeerId!: string;
  nodePeerIdBytes!: Hex;
  /** The node's data directory (round history, reputation book). */
  dataDir!: string;
  history!: HistoryFile;
  reputation!: ReputationBook;

  static async start(): Promise<DashboardFixture> {
    const fx = new DashboardFixture();
    await mkdir(OUT, { recursive: true });
    fx.dataDir = await mkdtemp(join(tmpdir(), "vain-dashboard-"));
    const [{ dir }, node] = await Promise.all([ensureDashboardBuilt(), startHardhatNode(HARDHAT_PORT)]);
    fx.uiDir = dir;
    fx.hardhat = node;
    const chain = localChain(31337, node.rpcUrl);
    const transport = http(node.rpcUrl);
    fx.publicClient = createPublicClient({ chain, transport, pollingInterval: 100 });
    fx.testClient = createTestClient({ chain, transport, mode: "hardhat" });
    const wallet = (key: Hex): Wallet =>
      createWalletClient({ account: privateKeyToAccount(key), chain, transport });
    fx.deployer = wallet(HARDHAT_DEV_PRIVATE_KEY);
    fx.user = wallet(USER_KEY);
    fx.aggregator = wallet(AGGREGATOR_KEY);
    fx.deployment = await deployProtocol({
      publicClient: fx.publicClient,
      walletClient: fx.deployer,
      rpcUrl: node.rpcUrl,
    });
    fx.contracts = {
      token: fx.deployment.contracts.VainToken.address as Address,
      stakeRegistry: fx.deployment.contracts.StakeRegistry.address as Address,
      trainingRounds: fx.deployment.contracts.TrainingRounds.address as Address,
    };
    for (const to of [fx.user.account.address, fx.aggregator.account.address]) {
      await fx.send(
        fx.deployer.writeContract({
          address: fx.contracts.token,
          abi: vainTokenAbi,
          functionName: "transfer",
          args: [to, parseEther("1000")],
        }),
      );
    }
    const nodeKey = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
    fx.nodePeerId = nodeKey.toString();
    fx.nodePeerIdBytes = bytesToHex(nodeKey.toMultihash().bytes);
    await fx.startNode();
    fx.browser = await launchBrowser();
    return fx;
  }

  /** Starts the node's status side as the runtime does at start: saved history and reputation first. */
  async startNode(): Promise<void> {
    this.source = new ChainStatusSource({
      publicClient: this.publicClient as PublicClient,
      chainId: 31337,
      rpcUrl: this.hardhat.rpcUrl,
      contracts: this.contracts,
      version: "0.1.0",
      peerId: this.nodePeerId,
      operator: this.user.account.address,
      fromBlock: BigInt(this.deployment.deploymentBlock),
      pollIntervalMs: 300,
    });
    this.reputation = await ReputationBook.open({ file: join(this.dataDir, "reputation.json") });
    await this.source.start();
    this.history = new HistoryFile(this.dataDir);
    for (const row of await this.history.load()) this.source.addRoundMetrics(row);
    // Known peers the mesh has not reached again yet keep the reputation this node saved (as the runtime does).
    for (const peer of this.source.status().peers) {
      if (peer.peerId === this.nodePeerId) continue;
      this.source.setPeerDetails(peer.peerId, {
        connected: false,
        reputation: this.reputation.score(peer.operator),
      });
    }
    this.watch = new ChainResetWatch({
      publicClient: this.publicClient as PublicClient,
      deployment: this.deployment,
      deploymentPath: join(this.dataDir, "deployment.json"),
      rpcUrl: this.hardhat.rpcUrl,
      intervalMs: 3_600_000, // checked by the test when it resets the chain
      onReset: (reason) =>
        this.source.raiseAlert(
          "CHAIN_RESET",
          `chain reset detected: ${reason}; redeploy, stake, bind and restart the node`,
        ),
    });
    await this.watch.start();
    this.server = createStatusServer({ source: this.source, port: API_PORT, uiDir: this.uiDir });
    this.baseUrl = (await this.server.start()).url;
  }

  async stopNode(): Promise<void> {
    this.watch.stop();
    await this.server.stop();
    await this.source.stop();
    await this.reputation.flush();
  }

  /** A node restart: everything in memory is gone, the data directory and the chain remain. */
  async restartNode(): Promise<void> {
    await this.stopNode();
    await this.startNode();
  }

  /** What the runtime does when a round it took part in closes: status history, and the file it keeps. */
  async recordMetrics(figures: RoundTrainingFigures): Promise<void> {
    const row = this.source.recordRoundMetrics(figures);
    await this.history.record(row);
  }

  /** A local chain restarted at the same URL (a fresh chain, nothing deployed); the watch checks at once. */
  async resetChain(): Promise<string | undefined> {
    await this.hardhat.stop();
    this.hardhat = await startHardhatNode(HARDHAT_PORT);
    return this.watch.check();
  }

  async stopChain(): Promise<void> {
    await this.hardhat.stop();
    this.hardhatStopped = true;
  }

  async stop(): Promise<void> {
    await this.browser?.close().catch(() => undefined);
    await this.stopNode().catch(() => undefined);
    // stop() of a process already stopped by the last test would wait for an exit event that never comes.
    if (!this.hardhatStopped) await this.hardhat?.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }

  async send(hash: Promise<Hex>): Promise<void> {
    const receipt = await this.publicClient.waitForTransactionReceipt({ hash: await hash });
    if (receipt.status !== "success") throw new Error(`transaction ${receipt.transactionHash} reverted`);
  }

  async advance(seconds: number): Promise<void> {
    await this.testClient.increaseTime({ seconds });
    await this.testClient.mine({ blocks: 1 });
  }

  /** Locks and selects (or draws) as the deployer, mining the seed blocks. */
  drawDriver() {
    return {
      publicClient: this.publicClient,
      walletClient: this.deployer,
      rounds: this.contracts.trainingRounds,
      mine: () => this.testClient.mine({ blocks: 1 }),
    };
  }

  get rounds() {
    return { address: this.contracts.trainingRounds, abi: trainingRoundsAbi } as const;
  }

  readonly read = {
    balance: (a: Address) =>
      this.publicClient.readContract({
        address: this.contracts.token,
        abi: vainTokenAbi,
        functionName: "balanceOf",
        args: [a],
      }),
    active: (a: Address) =>
      this.publicClient.readContract({
        address: this.contracts.stakeRegistry,
        abi: stakeRegistryAbi,
        functionName: "activeStake",
        args: [a],
      }),
    unbonding: (a: Address) =>
      this.publicClient.readContract({
        address: this.contracts.stakeRegistry,
        abi: stakeRegistryAbi,
        functionName: "unbondingStake",
        args: [a],
      }),
    claimable: (a: Address) =>
      this.publicClient.readContract({
        address: this.contracts.trainingRounds,
        abi: trainingRoundsAbi,
        functionName: "claimable",
        args: [a],
      }),
  };
}
