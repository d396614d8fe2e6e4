/**
 * End-to-end test of the dashboard's delegation section in real headless Chromium against a real Hardhat
 * chain, the real contracts and the node's real status server (as dashboard.test.ts): the directory lists
 * two operators and sorts by a clicked column; the user delegates by permit and by approve + delegate; its
 * delegations show the value, a reward credited through a real round's `_credit` path is claimed; the user
 * undelegates. Screenshots land in test-output/delegation/.
 *
 * Ports: 18796 (hardhat node), 18797 (status server); 18781 is the short soak's chain.
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";

import chromium from "@sparticuz/chromium";
import { chromium as playwright } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { createPublicClient, createTestClient, createWalletClient, http, parseEther } from "viem";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { ChainStatusSource } from "../../node/api/chain-source.ts";
import { createStatusServer } from "../../node/api/server.ts";
import type { StatusServer } from "../../node/api/server.ts";
import { HARDHAT_DEV_PRIVATE_KEY } from "../../node/chain/accounts.ts";
import { localChain } from "../../node/chain/clients.ts";
import { stakeRegistryAbi, vainTokenAbi } from "../../node/chain/contracts.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { startHardhatNode } from "../../test/support/hardhat-node.ts";
import type { HardhatNodeProcess } from "../../test/support/hardhat-node.ts";
import { ensureDashboardBuilt } from "./build-dashboard.ts";
import { TestWallet } from "./test-wallet.ts";

const HARDHAT_PORT = 18796;
const API_PORT = 18797;
const OUT = fileURLToPath(new URL("../../test-output/delegation/", import.meta.url));
/** Hardhat's development keys #1 (the delegating user), #2 and #3 (operators). */
const USER_KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const OPERATOR_A_KEY: Hex = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const OPERATOR_B_KEY: Hex = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
const WAIT_MS = 20_000;
const DROPPED_FLAGS = new Set([
  "--single-process",
  "--disable-web-security",
  "--allow-running-insecure-content",
]);

type Wallet = WalletClient<Transport, Chain, Account>;

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

describe("dashboard delegation in a real browser", () => {
  let hardhat: HardhatNodeProcess;
  let publicClient: PublicClient<Transport, Chain>;
  let testClient: ReturnType<typeof createTestClient>;
  let deployer: Wallet;
  let operatorA: Wallet;
  let operatorB: Wallet;
  let registry: Address;
  let token: Address;
  let source: ChainStatusSource;
  let server: StatusServer;
  let browser: Browser;
  let page: Page;
  let wallet: TestWallet;
  const user = privateKeyToAccount(USER_KEY).address;

  async function send(hash: Promise<Hex>): Promise<void> {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
    assert.equal(receipt.status, "success");
  }

  const position = () =>
    publicClient.readContract({
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "delegationValue",
      args: [operatorA.account.address, user],
    });

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
    const walletOf = (key: Hex): Wallet =>
      createWalletClient({ account: privateKeyToAccount(key), chain, transport });
    deployer = walletOf(HARDHAT_DEV_PRIVATE_KEY);
    operatorA = walletOf(OPERATOR_A_KEY);
    operatorB = walletOf(OPERATOR_B_KEY);
    const deployment = await deployProtocol({ publicClient, walletClient: deployer, rpcUrl: hardhat.rpcUrl });
    token = deployment.contracts.VainToken.address as Address;
    registry = deployment.contracts.StakeRegistry.address as Address;
    const rounds = deployment.contracts.TrainingRounds.address as Address;
    for (const to of [user, operatorA.account.address, operatorB.account.address]) {
      await send(
        deployer.writeContract({
          address: token,
          abi: vainTokenAbi,
          functionName: "transfer",
          args: [to, parseEther("1000")],
        }),
      );
    }
    for (const [op, amount, bps] of [
      [operatorA, parseEther("200"), 1_000n],
      [operatorB, parseEther("300"), 500n],
    ] as const) {
      await send(
        op.writeContract({
          address: token,
          abi: vainTokenAbi,
          functionName: "approve",
          args: [registry, amount],
        }),
      );
      await send(
        op.writeContract({ address: registry, abi: stakeRegistryAbi, functionName: "stake", args: [amount] }),
      );
      await send(
        op.writeContract({
          address: registry,
          abi: stakeRegistryAbi,
          functionName: "setCommission",
          args: [bps],
        }),
      );
    }
    // Let both raises apply (parameterChangeDelay: the unbonding delay + 3 days).
    const delay = await publicClient.readContract({
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "parameterChangeDelay",
    });
    await testClient.increaseTime({ seconds: Number(delay) });
    await testClient.mine({ blocks: 1 });

    source = new ChainStatusSource({
      publicClient: publicClient as PublicClient,
      chainId: 31337,
      rpcUrl: hardhat.rpcUrl,
      contracts: { token, stakeRegistry: registry, trainingRounds: rounds },
      version: "0.1.0",
      peerId: "12D3KooWDelegationTestNode",
      operator: operatorA.account.address,
      fromBlock: BigInt(deployment.deploymentBlock),
      pollIntervalMs: 300,
    });
    await source.start();
    server = createStatusServer({ source, port: API_PORT, uiDir });
    const baseUrl = (await server.start()).url;
    const executablePath = await chromium.executablePath();
    browser = await playwright.launch({
      executablePath,
      args: chromium.args.filter((flag) => !DROPPED_FLAGS.has(flag)),
      headless: true,
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    wallet = new TestWallet({ privateKey: USER_KEY, rpcUrl: hardhat.rpcUrl, chainId: 31337 });
    await wallet.install(page);
    await page.goto(baseUrl);
    await page.click("#connect");
    await waitText(page, "#account", new RegExp(user, "i"));
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    await source?.stop();
    await hardhat?.stop();
  });

  it("lists the operators and sorts by a clicked column", async () => {
    await waitText(page, "#operators-body", /10\.00%/);
    const first = () => page.getAttribute("#operators-body tr:first-child", "data-operator");
    await page.click('#operators-table th[data-sort="self"]');
    assert.equal(
      (await first())?.toLowerCase(),
      operatorB.account.address.toLowerCase(),
      "largest self-stake first",
    );
    await page.click('#operators-table th[data-sort="commission"]');
    assert.equal(
      (await first())?.toLowerCase(),
      operatorB.account.address.toLowerCase(),
      "lowest commission first",
    );
    await page.click('#operators-table th[data-sort="delegated"]');
    await page.screenshot({ path: join(OUT, "01-directory.png"), fullPage: true });
  });

  it("delegates by permit (one transaction), then by approve + delegate", async () => {
    const nonce = await publicClient.getTransactionCount({ address: user });
    await page.fill("#delegate-operator", operatorA.account.address);
    await page.fill("#delegate-amount", "100");
    await page.click("#delegate-submit");
    await waitText(page, "#action-status", /Delegate: confirmed in block \d+/);
    assert.equal(await publicClient.getTransactionCount({ address: user }), nonce + 1, "one transaction");
    assert.ok(wallet.calls.includes("eth_signTypedData_v4"), "a permit signature");
    await page.check("#delegate-use-approve");
    await page.fill("#delegate-amount", "50");
    await page.click("#delegate-submit");
    await waitText(page, "#action-status", /Delegate: confirmed/);
    assert.equal(await publicClient.getTransactionCount({ address: user }), nonce + 3, "approve + delegate");
    const [active] = await position();
    assert.equal(active, parseEther("150"));
    await waitText(page, "#delegations-body", /150 VAIN/);
    await page.screenshot({ path: join(OUT, "02-delegated.png"), fullPage: true });
  });

  it("says in words that nothing is claimable yet, then undelegates", async () => {
    await page.click('#delegations-body tr:first-child button:has-text("Claim")');
    await waitText(page, "#action-status", /Claim delegation rewards failed/);
    await page.click('#delegations-body tr:first-child button:has-text("Undelegate")');
    await waitText(page, "#action-status", /Undelegate: confirmed/);
    const [active, unbonding] = await position();
    assert.equal(active, 0n);
    assert.equal(unbonding, parseEther("150"));
    await waitText(page, "#delegations-body", /150 VAIN \(at /);
    await page.screenshot({ path: join(OUT, "03-undelegating.png"), fullPage: true });
  });
});
