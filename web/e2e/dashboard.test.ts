/**
 * End-to-end test of the dashboard in real headless Chromium (playwright-core + @sparticuz/chromium) against a
 * real Hardhat chain, the real contracts, and the node's real status server fed from the chain (fixture.ts).
 * A test wallet injected into the page signs with a Hardhat key. Screenshots land in test-output/dashboard/.
 * Covers each dashboard item of issue #25: earnings history, round timeline with close times, failed rounds
 * marked, history and peers after a node restart, own slash and own aggregator duty marked, disabled buttons
 * with a reason, the stale-chain banner after a chain reset, tables at phone width.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { BrowserContext, Page } from "playwright-core";
import { parseEther } from "viem";

import { stakeRegistryAbi } from "../../node/chain/contracts.ts";
import { DashboardFixture, DESKTOP, PHONE, shot, USER_KEY, waitText } from "./fixture.ts";
import { finalizedRound, otherNodeJoins, othersMissedRound, ownMissedRound } from "./round-steps.ts";
import { TestWallet } from "./test-wallet.ts";

/** Fails unless no table cell and no page content reaches past the viewport's right edge. */
async function assertFitsWidth(page: Page, width: number): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at ${width}px`);
  const cut = await page.$$eval("td", (cells) =>
    cells
      .filter((td) => td.getBoundingClientRect().right > window.innerWidth + 0.5)
      .map((td) => `${td.dataset["label"] ?? "?"}: ${td.textContent ?? ""}`),
  );
  assert.deepEqual(cut, [], `table cells cut off at ${width}px`);
}

describe("dashboard in a real browser", () => {
  let fx: DashboardFixture;
  let context: BrowserContext;
  let page: Page;
  let wallet: TestWallet;
  let otherPeerId: string;

  before(async () => {
    fx = await DashboardFixture.start();
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    await fx?.stop();
  });

  it("shows the network read-only without a wallet, at desktop and phone widths", async () => {
    for (const [label, viewport] of [
      ["desktop", DESKTOP],
      ["phone", PHONE],
    ] as const) {
      const readOnly = await fx.browser.newContext({ viewport });
      const view = await readOnly.newPage();
      const errors: string[] = [];
      view.on("pageerror", (error) => errors.push(error.message));
      await view.goto(fx.baseUrl);
      await waitText(view, "#banner-text", /Read-only mode: no wallet found/);
      await waitText(view, "#node-peer-id", new RegExp(fx.nodePeerId));
      await waitText(view, "#live-indicator", /Live/);
      // Read from the chain directly by the page (http transport to the node's rpcUrl).
      await waitText(view, "#total-stake", /^0 VAIN$/);
      assert.equal(await view.isDisabled("#stake-submit"), true);
      await waitText(view, "#stake-reason", /^Connect a wallet first\.$/);
      assert.equal(await view.isVisible("#claim-reason"), true, "the reason is shown, not only disabled");
      assert.deepEqual(errors, []);
      await shot(view, `01-read-only-${label}`);
      await readOnly.close();
    }
  });

  it("connects the injected wallet, reports the wrong network and switches (adding the chain)", async () => {
    context = await fx.browser.newContext({ viewport: DESKTOP });
    page = await context.newPage();
    wallet = new TestWallet({
      privateKey: USER_KEY,
      rpcUrl: fx.hardhat.rpcUrl,
      chainId: 31337,
      initialChainId: 1,
    });
    await wallet.install(page);
    await page.goto(fx.baseUrl);
    await waitText(page, "#banner-text", /Read-only mode: connect a wallet/);
    await page.click("#connect");
    await waitText(page, "#account", new RegExp(fx.user.account.address, "i"));
    await waitText(
      page,
      "#banner-text",
      /Wrong network: your wallet is on chain 1 but this node uses Hardhat \(31337\)/,
    );
    assert.equal(await page.isDisabled("#stake-submit"), true);
    await waitText(page, "#stake-reason", /Switch your wallet to Hardhat \(31337\)/);
    await shot(page, "02-wrong-network");
    await page.click("#banner-action");
    await waitText(page, "#chain", /^Hardhat \(31337\)$/);
    assert.equal(await page.isHidden("#banner"), true);
    assert.ok(wallet.calls.includes("wallet_addEthereumChain"), "the dashboard added the unknown chain");
    await waitText(page, "#balance", /^1,000 VAIN$/);
    await waitText(page, "#active-stake", /^0 VAIN$/);
    // Nothing staked: Unstake and Bind say why they cannot act; Stake can.
    await waitText(page, "#unstake-reason", /Nothing is staked/);
    await waitText(page, "#bind-reason", /Binding needs at least 100 VAIN staked \(you have 0 VAIN\)/);
    assert.equal(await page.isDisabled("#bind-submit"), true);
    assert.equal(await page.isDisabled("#stake-submit"), false);
    assert.equal(await page.isHidden("#stake-reason"), true);
  });

  it("stakes with one permit signature and no approve transaction", async () => {
    const nonceBefore = await fx.publicClient.getTransactionCount({ address: fx.user.account.address });
    await page.fill("#stake-amount", "150");
    await page.click("#stake-submit");
    await waitText(page, "#action-status", /Stake: confirmed in block \d+/);
    await waitText(page, "#active-stake", /^150 VAIN$/);
    await waitText(page, "#balance", /^850 VAIN$/);
    assert.equal(await fx.read.active(fx.user.account.address), parseEther("150"));
    assert.equal(
      await fx.publicClient.getTransactionCount({ address: fx.user.account.address }),
      nonceBefore + 1,
    );
    assert.ok(wallet.calls.includes("eth_signTypedData_v4"));
    await shot(page, "03-staked-with-permit");
  });

  it("stakes through approve + stake when asked", async () => {
    const nonceBefore = await fx.publicClient.getTransactionCount({ address: fx.user.account.address });
    await page.check("#use-approve");
    await page.fill("#stake-amount", "50");
    await page.click("#stake-submit");
    await waitText(page, "#action-status", /Stake: confirmed/);
    await waitText(page, "#active-stake", /^200 VAIN$/);
    assert.equal(await fx.read.active(fx.user.account.address), parseEther("200"));
    assert.equal(
      await fx.publicClient.getTransactionCount({ address: fx.user.account.address }),
      nonceBefore + 2,
    );
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
    assert.equal(await fx.read.active(fx.user.account.address), parseEther("200"));
  });

  it("binds the node's peer ID, then disables Bind for the peer ID already bound", async () => {
    assert.equal(await page.inputValue("#peer-id"), fx.nodePeerId, "prefilled with the node's own peer ID");
    await waitText(page, "#bind-reason", /^$/);
    await page.click("#bind-submit");
    await waitText(page, "#action-status", /Bind peer ID: confirmed/);
    await waitText(page, "#bound-peer-id", new RegExp(fx.nodePeerId));
    const bound = await fx.publicClient.readContract({
      address: fx.contracts.stakeRegistry,
      abi: stakeRegistryAbi,
      functionName: "peerIdOf",
      args: [fx.user.account.address],
    });
    assert.equal(bound, fx.nodePeerIdBytes);
    await waitText(page, "#bind-reason", /This peer ID is already bound to your account/);
    assert.equal(await page.isDisabled("#bind-submit"), true);
    // Typing another peer ID enables it again; a malformed one says what is wrong.
    await page.fill("#peer-id", "not-a-peer-id!");
    await waitText(page, "#bind-reason", /not a peer ID/);
    await page.fill("#peer-id", fx.nodePeerId);
    // The node's status source saw the binding: the peer appears live in the network view.
    await waitText(page, "#peers-body", /200 VAIN/);
  });

  it("follows a finalized round live: timeline with close time, earnings, Claim disabled after claiming", async () => {
    otherPeerId = await otherNodeJoins(fx, page);
    await finalizedRound(fx, page);
  });

  it("marks a failed round apart in the timeline and the charts", async () => {
    await othersMissedRound(fx, page);
  });

  it("marks the node's own aggregator duty and its own slash", async () => {
    await ownMissedRound(fx, page);
  });

  it("shows the same history, earnings and peers after a node restart", async () => {
    // The node knew the other peer: connected, with the reputation it earned for aggregating round 1.
    for (let i = 0; i < 3; i++)
      fx.reputation.apply({ kind: "update-accepted", operator: fx.aggregator.account.address });
    const reputation = Math.round(fx.reputation.score(fx.aggregator.account.address) * 100);
    assert.notEqual(reputation, 50);
    fx.source.setPeerDetails(otherPeerId, { connected: true, reputation: reputation / 100, latencyMs: 3 });
    await waitText(page, "#peers-body", new RegExp(`${reputation}%connected, 3 ms`));
    // A round that finished while the node was down: its model is gone, so it has no accuracy (not 0).
    await fx.recordMetrics({ roundId: "3", accuracy: null, loss: null, bytesSent: 0, bytesReceived: 0 });
    const before = {
      timeline: await page.textContent("#timeline-body"),
      earned: await page.textContent("#earned-total"),
      accuracy: await page.getAttribute("#chart-accuracy", "aria-label"),
    };
    assert.match(before.accuracy ?? "", /2 rounds, 1 failed, latest 84% in round 2/);

    await fx.restartNode();
    await waitText(page, "#live-indicator", /^Live$/);
    await waitText(page, "#earned-total", new RegExp(`^${(before.earned ?? "").replace(/[()]/g, "\\$&")}$`));
    await waitText(page, "#timeline-body", /#3/);
    assert.equal(
      await page.textContent("#timeline-body"),
      before.timeline,
      "the timeline is rebuilt from the chain",
    );
    assert.equal(await page.getAttribute("#chart-accuracy", "aria-label"), before.accuracy);
    const accuracyLabels = await page.$$eval("#chart-accuracy title", (titles) =>
      titles.map((t) => t.textContent),
    );
    assert.ok(
      !accuracyLabels.some((t) => /: 0%/.test(t ?? "")),
      `no accuracy 0 after the restart: ${accuracyLabels.join(", ")}`,
    );
    // The other peer: the saved reputation, and "connecting…" while the restarted mesh redials.
    await waitText(page, "#peers-body", new RegExp(`${reputation}%connecting…`));
    await shot(page, "11-after-node-restart");
  });

  it("requests an unstake, counts down the delay, and withdraws after time passes", async () => {
    await page.fill("#unstake-amount", "100");
    await page.click("#unstake-submit");
    await waitText(page, "#action-status", /Unstake request: confirmed/);
    await waitText(page, "#unbonding-stake", /^100 VAIN$/);
    await waitText(page, "#active-stake", /^0 VAIN$/);
    await waitText(page, "#release-countdown", /^in (1 d|23 h 59 min)/);
    assert.equal(await page.isDisabled("#withdraw"), true);
    await waitText(page, "#withdraw-reason", /Unbonding: withdrawable in (1 d|23 h 59 min)/);
    assert.equal(await fx.read.unbonding(fx.user.account.address), parseEther("100"));
    await shot(page, "12-unbonding-countdown");

    await fx.advance(86_401);
    await waitText(page, "#release-countdown", /ready to withdraw/);
    assert.equal(await page.isHidden("#withdraw-reason"), true);
    const balanceBefore = await fx.read.balance(fx.user.account.address);
    await page.click("#withdraw");
    await waitText(page, "#action-status", /Withdraw: confirmed/);
    await waitText(page, "#unbonding-stake", /^0 VAIN$/);
    assert.equal((await fx.read.balance(fx.user.account.address)) - balanceBefore, parseEther("100"));
    assert.equal(await fx.read.unbonding(fx.user.account.address), 0n);
    await waitText(page, "#balance", /^1,800 VAIN$/);
    await waitText(page, "#withdraw-reason", /Nothing is unbonding/);
    await shot(page, "13-withdrawn");
  });

  it("fits a 375 px phone: tables stacked, nothing cut off or scrolling sideways", async () => {
    await page.setViewportSize(PHONE);
    await waitText(page, "#timeline-body", /#3/);
    await assertFitsWidth(page, PHONE.width);
    // Each stacked cell names its column.
    const label = await page.$eval(
      '#timeline-body tr[data-round="1"] td:nth-child(5)',
      (td) => getComputedStyle(td, "::before").content,
    );
    assert.match(label, /Aggregator/);
    await shot(page, "14-connected-phone");
    await page.setViewportSize(DESKTOP);
    await assertFitsWidth(page, DESKTOP.width);
  });

  it("says the view is stale after a chain reset at the same URL", async () => {
    const reason = await fx.resetChain();
    assert.ok(reason !== undefined, "the node's watch saw the reset");
    await waitText(
      page,
      "#banner-text",
      /chain reset detected: .*redeploy, stake, bind and restart the node/,
    );
    await waitText(page, "#live-indicator", /^Stale \(node paused\)$/);
    await waitText(page, "#node-ready", /^not ready: chain reset$/);
    await waitText(page, "#round-phase", /\(stale: node paused\)/);
    await waitText(page, "#claim-reason", /The chain was reset/);
    assert.equal(await page.isDisabled("#stake-submit"), true);
    await shot(page, "15-chain-reset-stale");
  });

  it("says when the chain is down", async () => {
    await fx.stopChain();
    fx.source.clearAlert("CHAIN_RESET");
    await waitText(page, "#banner-text", /The chain at http:\/\/127\.0\.0\.1:18610 is not answering/);
    assert.equal(await page.isDisabled("#stake-submit"), true);
    await waitText(page, "#stake-reason", /The chain is not answering/);
    await shot(page, "16-chain-down");
  });
});
