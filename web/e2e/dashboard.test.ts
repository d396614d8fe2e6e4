/**
 * End-to-end test of the dashboard in real headless Chromium (playwright-core + @sparticuz/chromium) against a
 * real Hardhat chain, the real contracts, and the node's real status server fed from the chain. A test wallet
 * injected into the page signs with a Hardhat key. Screenshots land in test-output/dashboard/.
 *
 * Ports: 18610 (hardhat node), 18611 (status server).
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import chromium from "@sparticuz/chromium";
import { chromium as playwright } from "playwright-core";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  bytesToHex,
  createPublicClient,
  createTestClient,
  createWalletClient,
  encodeAbiParameters,
  http,
  keccak256,
  parseAbiParameters,
  parseEther,
} from "viem";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { ChainStatusSource } from "../../node/api/chain-source.ts";
import { createStatusServer } from "../../node/api/server.ts";
import type { StatusServer } from "../../node/api/server.ts";
import { taskConfig } from "../../node/chain/actions/index.ts";
import { HARDHAT_DEV_PRIVATE_KEY } from "../../node/chain/accounts.ts";
import { localChain } from "../../node/chain/clients.ts";
import {
  ChallengeStatus,
  stakeRegistryAbi,
  trainingRoundsAbi,
  vainTokenAbi,
} from "../../node/chain/contracts.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { drawSamplesWhenDue, lockAndSelect } from "../../node/chain/draws.ts";
import { startHardhatNode } from "../../test/support/hardhat-node.ts";
import type { HardhatNodeProcess } from "../../test/support/hardhat-node.ts";
import { ensureDashboardBuilt } from "./build-dashboard.ts";
import { TestWallet } from "./test-wallet.ts";

const HARDHAT_PORT = 18610;
const API_PORT = 18611;
const OUT = fileURLToPath(new URL("../../test-output/dashboard/", import.meta.url));
/** Hardhat's well-known development keys #1 (the user staking in the page) and #2 (another node). */
const USER_KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const AGGREGATOR_KEY: Hex = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const WAIT_MS = 20_000;
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

type Wallet = WalletClient<Transport, Chain, Account>;

/** Waits until the text of `selector` matches `pattern`; fails with the last text seen. */
async function waitText(page: Page, selector: string, pattern: RegExp, timeoutMs = WAIT_MS): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    last = (await page.textContent(selector)) ?? "";
    if (pattern.test(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`${selector} never matched ${pattern}; last text: "${last}"`);
}

async function shot(page: Page, name: string): Promise<void> {
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

describe("dashboard in a real browser", () => {
  let hardhat: HardhatNodeProcess;
  let hardhatStopped = false;
  let publicClient: PublicClient<Transport, Chain>;
  let deployer: Wallet;
  let user: Wallet;
  let aggregator: Wallet;
  let contracts: { token: Address; stakeRegistry: Address; trainingRounds: Address };
  let source: ChainStatusSource;
  let server: StatusServer;
  let baseUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let wallet: TestWallet;
  let nodePeerId: string;
  let nodePeerIdBytes: Hex;
  let testClient: ReturnType<typeof createTestClient>;

  async function send(hash: Promise<Hex>): Promise<void> {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
    assert.equal(receipt.status, "success");
  }

  async function advance(seconds: number): Promise<void> {
    await testClient.increaseTime({ seconds });
    await testClient.mine({ blocks: 1 });
  }

  /** Locks and selects (or draws) as the deployer, mining the seed blocks. */
  function drawDriver() {
    return {
      publicClient,
      walletClient: deployer,
      rounds: contracts.trainingRounds,
      mine: () => testClient.mine({ blocks: 1 }),
    };
  }

  const read = {
    balance: (a: Address) =>
      publicClient.readContract({
        address: contracts.token,
        abi: vainTokenAbi,
        functionName: "balanceOf",
        args: [a],
      }),
    active: (a: Address) =>
      publicClient.readContract({
        address: contracts.stakeRegistry,
        abi: stakeRegistryAbi,
        functionName: "activeStake",
        args: [a],
      }),
    unbonding: (a: Address) =>
      publicClient.readContract({
        address: contracts.stakeRegistry,
        abi: stakeRegistryAbi,
        functionName: "unbondingStake",
        args: [a],
      }),
    claimable: (a: Address) =>
      publicClient.readContract({
        address: contracts.trainingRounds,
        abi: trainingRoundsAbi,
        functionName: "claimable",
        args: [a],
      }),
  };

  before(async () => {
    await mkdir(OUT, { recursive: true });
    const [{ dir: uiDir }, node] = await Promise.all([
      ensureDashboardBuilt(),
      startHardhatNode(HARDHAT_PORT),
    ]);
    hardhat = node;
    const chain = localChain(31337, hardhat.rpcUrl);
    const transport = http(hardhat.rpcUrl);
    publicClient = createPublicClient({ chain, transport, pollingInterval: 100 });
    testClient = createTestClient({ chain, transport, mode: "hardhat" });
    const wallet_ = (key: Hex): Wallet =>
      createWalletClient({ account: privateKeyToAccount(key), chain, transport });
    deployer = wallet_(HARDHAT_DEV_PRIVATE_KEY);
    user = wallet_(USER_KEY);
    aggregator = wallet_(AGGREGATOR_KEY);
    const deployment = await deployProtocol({ publicClient, walletClient: deployer, rpcUrl: hardhat.rpcUrl });
    contracts = {
      token: deployment.contracts.VainToken.address as Address,
      stakeRegistry: deployment.contracts.StakeRegistry.address as Address,
      trainingRounds: deployment.contracts.TrainingRounds.address as Address,
    };
    for (const to of [user.account.address, aggregator.account.address]) {
      await send(
        deployer.writeContract({
          address: contracts.token,
          abi: vainTokenAbi,
          functionName: "transfer",
          args: [to, parseEther("1000")],
        }),
      );
    }

    const nodeKey = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
    nodePeerId = nodeKey.toString();
    nodePeerIdBytes = bytesToHex(nodeKey.toMultihash().bytes);
    source = new ChainStatusSource({
      publicClient: publicClient as PublicClient,
      chainId: 31337,
      rpcUrl: hardhat.rpcUrl,
      contracts,
      version: "0.1.0",
      peerId: nodePeerId,
      operator: user.account.address,
      fromBlock: BigInt(deployment.deploymentBlock),
      pollIntervalMs: 300,
    });
    await source.start();
    server = createStatusServer({ source, port: API_PORT, uiDir });
    baseUrl = (await server.start()).url;

    browser = await launchBrowser();
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
    await source?.stop();
    // stop() of a process already stopped by the last test would wait for an exit event that never comes.
    if (!hardhatStopped) await hardhat?.stop();
  });

  it("shows the network read-only without a wallet, at desktop and phone widths", async () => {
    for (const [label, viewport] of [
      ["desktop", DESKTOP],
      ["phone", PHONE],
    ] as const) {
      const readOnly = await browser.newContext({ viewport });
      const view = await readOnly.newPage();
      const errors: string[] = [];
      view.on("pageerror", (error) => errors.push(error.message));
      await view.goto(baseUrl);
      await waitText(view, "#banner-text", /Read-only mode: no wallet found/);
      await waitText(view, "#node-peer-id", new RegExp(nodePeerId));
      await waitText(view, "#live-indicator", /Live/);
      // Read from the chain directly by the page (http transport to the node's rpcUrl).
      await waitText(view, "#total-stake", /^0 VAIN$/);
      assert.equal(await view.isDisabled("#stake-submit"), true);
      assert.deepEqual(errors, []);
      await shot(view, `01-read-only-${label}`);
      await readOnly.close();
    }
  });

  it("connects the injected wallet, reports the wrong network and switches (adding the chain)", async () => {
    context = await browser.newContext({ viewport: DESKTOP });
    page = await context.newPage();
    wallet = new TestWallet({
      privateKey: USER_KEY,
      rpcUrl: hardhat.rpcUrl,
      chainId: 31337,
      initialChainId: 1,
    });
    await wallet.install(page);
    await page.goto(baseUrl);
    await waitText(page, "#banner-text", /Read-only mode: connect a wallet/);
    await page.click("#connect");
    await waitText(page, "#account", new RegExp(user.account.address, "i"));
    await waitText(
      page,
      "#banner-text",
      /Wrong network: your wallet is on chain 1 but this node uses Hardhat \(31337\)/,
    );
    assert.equal(await page.isDisabled("#stake-submit"), true);
    await shot(page, "02-wrong-network");
    await page.click("#banner-action");
    await waitText(page, "#chain", /^Hardhat \(31337\)$/);
    assert.equal(await page.isHidden("#banner"), true);
    assert.ok(wallet.calls.includes("wallet_addEthereumChain"), "the dashboard added the unknown chain");
    await waitText(page, "#balance", /^1,000 VAIN$/);
    await waitText(page, "#active-stake", /^0 VAIN$/);
  });

  it("stakes with one permit signature and no approve transaction", async () => {
    const nonceBefore = await publicClient.getTransactionCount({ address: user.account.address });
    await page.fill("#stake-amount", "150");
    await page.click("#stake-submit");
    await waitText(page, "#action-status", /Stake: confirmed in block \d+/);
    await waitText(page, "#active-stake", /^150 VAIN$/);
    await waitText(page, "#balance", /^850 VAIN$/);
    assert.equal(await read.active(user.account.address), parseEther("150"));
    assert.equal(await publicClient.getTransactionCount({ address: user.account.address }), nonceBefore + 1);
    assert.ok(wallet.calls.includes("eth_signTypedData_v4"));
    await shot(page, "03-staked-with-permit");
  });

  it("stakes through approve + stake when asked", async () => {
    const nonceBefore = await publicClient.getTransactionCount({ address: user.account.address });
    await page.check("#use-approve");
    await page.fill("#stake-amount", "50");
    await page.click("#stake-submit");
    await waitText(page, "#action-status", /Stake: confirmed/);
    await waitText(page, "#active-stake", /^200 VAIN$/);
    assert.equal(await read.active(user.account.address), parseEther("200"));
    assert.equal(await publicClient.getTransactionCount({ address: user.account.address }), nonceBefore + 2);
    await page.uncheck("#use-approve");
  });

  it("explains an insufficient balance and a rejected signature", async () => {
    await page.fill("#stake-amount", "5000");
    await page.click("#stake-submit");
    await waitText(page, "#action-status", /Stake failed: Insufficient balance: you have 800 VAIN/);
    assert.equal(await page.getAttribute("#action-status", "data-state"), "failed");
    wallet.rejectNext = true;
    await page.fill("#stake-amount", "10");
    await page.click("#stake-submit");
    await waitText(page, "#action-status", /Stake failed: You rejected the request in your wallet/);
    await shot(page, "04-rejected-signature");
    assert.equal(await read.active(user.account.address), parseEther("200"));
  });

  it("binds the node's peer ID", async () => {
    assert.equal(await page.inputValue("#peer-id"), nodePeerId, "prefilled with the node's own peer ID");
    await page.click("#bind-submit");
    await waitText(page, "#action-status", /Bind peer ID: confirmed/);
    await waitText(page, "#bound-peer-id", new RegExp(nodePeerId));
    const bound = await publicClient.readContract({
      address: contracts.stakeRegistry,
      abi: stakeRegistryAbi,
      functionName: "peerIdOf",
      args: [user.account.address],
    });
    assert.equal(bound, nodePeerIdBytes);
    // The node's status source saw the binding: the peer appears live in the network view.
    await waitText(page, "#peers-body", /200 VAIN/);
  });

  it("follows a real round live and claims the reward it paid", async () => {
    const rounds = { address: contracts.trainingRounds, abi: trainingRoundsAbi } as const;
    const aggPeer = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
    await send(
      aggregator.writeContract({
        address: contracts.token,
        abi: vainTokenAbi,
        functionName: "approve",
        args: [contracts.stakeRegistry, parseEther("1000")],
      }),
    );
    await send(
      aggregator.writeContract({
        address: contracts.stakeRegistry,
        abi: stakeRegistryAbi,
        functionName: "stake",
        args: [parseEther("1000")],
      }),
    );
    await send(
      aggregator.writeContract({
        address: contracts.stakeRegistry,
        abi: stakeRegistryAbi,
        functionName: "bindPeerId",
        args: [bytesToHex(aggPeer.toMultihash().bytes)],
      }),
    );
    await send(aggregator.writeContract({ ...rounds, functionName: "setAggregatorOptIn", args: [true] }));
    await waitText(page, "#peers-body", new RegExp(`1,000 VAIN`));
    assert.equal(await page.getAttribute("#peers-body", "data-count"), "2");

    await send(
      deployer.writeContract({
        ...rounds,
        functionName: "createTask",
        args: [
          taskConfig({
            modelRef: `0x${"11".repeat(32)}`,
            parameters: 4 * 64, // 4 chunks
            rewardPerRoundWei: parseEther("1000"),
            commitWindowS: 60n,
            aggregateWindowS: 60n,
            challengeWindowS: 120n,
            answerWindowS: 600n,
            roundIntervalS: 0n,
          }),
        ],
      }),
    );
    await send(
      deployer.writeContract({
        address: contracts.token,
        abi: vainTokenAbi,
        functionName: "approve",
        args: [contracts.trainingRounds, parseEther("5000")],
      }),
    );
    await send(
      deployer.writeContract({ ...rounds, functionName: "fundTask", args: [1n, parseEther("5000")] }),
    );
    await send(deployer.writeContract({ ...rounds, functionName: "openRound", args: [1n] }));
    await waitText(page, "#round-phase", /^committing$/);
    await waitText(page, "#round-deadlines", /Commit deadline/);
    await shot(page, "05-round-committing");

    // The node (operated by the user) commits its update; the other node aggregates.
    await send(
      user.writeContract({
        ...rounds,
        functionName: "commitUpdate",
        args: [1n, `0x${"c1".repeat(32)}`, 100n],
      }),
    );
    await waitText(page, "#round-trainers", /^1$/);
    await advance(61);
    await lockAndSelect(drawDriver(), 1n);
    await waitText(page, "#round-phase", /^aggregating$/);
    await waitText(page, "#round-aggregator", new RegExp(aggregator.account.address, "i"));
    await send(
      aggregator.writeContract({
        ...rounds,
        functionName: "postAggregate",
        args: [1n, `0x${"aa".repeat(32)}`, `0x${"bb".repeat(32)}`, [100n]],
      }),
    );
    await drawSamplesWhenDue(drawDriver(), 1n);
    await waitText(page, "#round-phase", /^challenging$/);
    const round = await publicClient.readContract({ ...rounds, functionName: "getRound", args: [1n] });
    let sampled: bigint | undefined;
    for (let chunk = 0n; chunk < BigInt(round.numChunks); chunk++) {
      const challenge = await publicClient.readContract({
        ...rounds,
        functionName: "getChallenge",
        args: [1n, chunk],
      });
      if (challenge.status === ChallengeStatus.Pending) sampled = chunk;
    }
    assert.notEqual(sampled, undefined, "a chunk was sampled for proof");
    const proof = keccak256(
      encodeAbiParameters(parseAbiParameters("uint256, uint256, uint256, uint256[], bytes32"), [
        1n,
        sampled as bigint,
        BigInt(round.numChunks),
        round.weights,
        round.aggregateCommitment,
      ]),
    );
    await send(
      aggregator.writeContract({
        ...rounds,
        functionName: "answerChallenge",
        args: [1n, sampled as bigint, proof],
      }),
    );
    await advance(200);
    await send(deployer.writeContract({ ...rounds, functionName: "finalizeRound", args: [1n] }));
    await waitText(page, "#round-phase", /^finalized$/);
    // 90% of the 1000 VAIN emission to the only trainer, 10% to the aggregator.
    assert.equal(await read.claimable(user.account.address), parseEther("900"));
    await waitText(page, "#claimable", /^900 VAIN$/);

    // The runtime reports the round's training figures; the chart follows live.
    source.recordRoundMetrics({
      roundId: "1",
      accuracy: 0.84,
      loss: 0.52,
      bytesSent: 48_000,
      bytesReceived: 410_000,
    });
    await page.waitForSelector("#chart-accuracy circle", { timeout: WAIT_MS });
    assert.match((await page.getAttribute("#chart-accuracy", "aria-label")) ?? "", /latest 84% in round 1/);
    assert.match((await page.getAttribute("#chart-bytes", "aria-label")) ?? "", /447\.3 KiB/);
    await shot(page, "06-round-finalized");

    const balanceBefore = await read.balance(user.account.address);
    await page.click("#claim");
    await waitText(page, "#action-status", /Claim: confirmed/);
    await waitText(page, "#claimable", /^0 VAIN$/);
    assert.equal((await read.balance(user.account.address)) - balanceBefore, parseEther("900"));
    await waitText(page, "#balance", /^1,700 VAIN$/);

    // Claiming again is refused by the contract; the page names the custom error.
    await page.click("#claim");
    await waitText(
      page,
      "#action-status",
      /Claim failed: There are no rewards to claim yet\. \(NothingToClaim\)/,
    );
    await shot(page, "07-claimed-then-nothing-to-claim");
  });

  it("shows a slashing event when an aggregator misses its deadline", async () => {
    const rounds = { address: contracts.trainingRounds, abi: trainingRoundsAbi } as const;
    await send(deployer.writeContract({ ...rounds, functionName: "openRound", args: [1n] }));
    await waitText(page, "#round-id", /#2/);
    await send(
      aggregator.writeContract({
        ...rounds,
        functionName: "commitUpdate",
        args: [2n, `0x${"c2".repeat(32)}`, 50n],
      }),
    );
    await advance(61);
    await lockAndSelect(drawDriver(), 2n);
    await advance(61);
    await send(deployer.writeContract({ ...rounds, functionName: "reportMissedAggregation", args: [2n] }));
    await waitText(page, "#slashes-body", /500 VAIN\s*missed aggregation deadline/);
    await waitText(page, "#round-phase", /^failed$/);
    await waitText(page, "#peers-body", /500 VAIN/);
  });

  it("requests an unstake, counts down the delay, and withdraws after time passes", async () => {
    await page.fill("#unstake-amount", "200");
    await page.click("#unstake-submit");
    await waitText(page, "#action-status", /Unstake request: confirmed/);
    await waitText(page, "#unbonding-stake", /^200 VAIN$/);
    await waitText(page, "#active-stake", /^0 VAIN$/);
    await waitText(page, "#release-countdown", /^in (1 d|23 h 59 min)/);
    assert.equal(await page.isDisabled("#withdraw"), true);
    assert.equal(await read.unbonding(user.account.address), parseEther("200"));
    await shot(page, "08-unbonding-countdown");

    await advance(86_401);
    await waitText(page, "#release-countdown", /ready to withdraw/);
    const balanceBefore = await read.balance(user.account.address);
    await page.click("#withdraw");
    await waitText(page, "#action-status", /Withdraw: confirmed/);
    await waitText(page, "#unbonding-stake", /^0 VAIN$/);
    assert.equal((await read.balance(user.account.address)) - balanceBefore, parseEther("200"));
    assert.equal(await read.unbonding(user.account.address), 0n);
    await waitText(page, "#balance", /^1,900 VAIN$/);
    await shot(page, "09-withdrawn");
  });

  it("lays out the connected dashboard at phone width", async () => {
    await page.setViewportSize(PHONE);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at 390px`);
    await shot(page, "10-connected-phone");
    await page.setViewportSize(DESKTOP);
  });

  it("says when the chain is down", async () => {
    await hardhat.stop();
    hardhatStopped = true;
    await waitText(page, "#banner-text", /The chain at http:\/\/127\.0\.0\.1:18610 is not answering/);
    assert.equal(await page.isDisabled("#stake-submit"), true);
    await shot(page, "11-chain-down");
  });
});
