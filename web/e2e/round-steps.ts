/**
 * The browser test's round steps, on the real contracts: a finalized round the user trains in (then claims),
 * a round that fails because the other node's aggregator misses its deadline, and a round where the user's own
 * node is the aggregator and is slashed. Each step checks what the page shows: phase, deadlines, timeline,
 * earnings, failed-round marks, "(you)" marks and the reasons beside disabled buttons.
 */
import assert from "node:assert/strict";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { Page } from "playwright-core";
import { bytesToHex, encodeAbiParameters, keccak256, parseAbiParameters, parseEther } from "viem";

import { taskConfig } from "../../node/chain/actions/index.ts";
import { ChallengeStatus, stakeRegistryAbi, vainTokenAbi } from "../../node/chain/contracts.ts";
import { drawSamplesWhenDue, lockAndSelect } from "../../node/chain/draws.ts";
import type { DashboardFixture } from "./fixture.ts";
import { shot, waitAttribute, waitText, WAIT_MS } from "./fixture.ts";

/** The other node joins: stakes 1000, binds a peer ID, opts in as aggregator. Returns its peer ID. */
export async function otherNodeJoins(fx: DashboardFixture, page: Page): Promise<string> {
  const { aggregator, contracts } = fx;
  const aggPeer = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
  await fx.send(
    aggregator.writeContract({
      address: contracts.token,
      abi: vainTokenAbi,
      functionName: "approve",
      args: [contracts.stakeRegistry, parseEther("1000")],
    }),
  );
  await fx.send(
    aggregator.writeContract({
      address: contracts.stakeRegistry,
      abi: stakeRegistryAbi,
      functionName: "stake",
      args: [parseEther("1000")],
    }),
  );
  await fx.send(
    aggregator.writeContract({
      address: contracts.stakeRegistry,
      abi: stakeRegistryAbi,
      functionName: "bindPeerId",
      args: [bytesToHex(aggPeer.toMultihash().bytes)],
    }),
  );
  await waitText(page, "#peers-body", /1,000 VAIN/);
  assert.equal(await page.getAttribute("#peers-body", "data-count"), "2");
  return aggPeer.toString();
}

/** Round 1: the user's node trains, the other node aggregates and answers its sampled challenge. */
export async function finalizedRound(fx: DashboardFixture, page: Page): Promise<void> {
  const { deployer, user, aggregator, contracts, publicClient } = fx;
  const rounds = fx.rounds;
  await fx.send(
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
  await fx.send(
    deployer.writeContract({
      address: contracts.token,
      abi: vainTokenAbi,
      functionName: "approve",
      args: [contracts.trainingRounds, parseEther("5000")],
    }),
  );
  await fx.send(
    deployer.writeContract({ ...rounds, functionName: "fundTask", args: [1n, parseEther("5000")] }),
  );
  // Candidates volunteer per task: the other node for task 1, once it exists.
  await fx.send(
    aggregator.writeContract({ ...rounds, functionName: "setAggregatorOptIn", args: [1n, true] }),
  );
  await fx.send(deployer.writeContract({ ...rounds, functionName: "openRound", args: [1n] }));
  await waitText(page, "#round-phase", /^committing$/);
  await waitText(page, "#round-deadlines", /Commit deadline/);
  await waitText(page, "#timeline-body", /#1\s*committing/);
  // Nothing credited yet: Claim is disabled and says why.
  assert.equal(await page.isDisabled("#claim"), true);
  await waitText(page, "#claim-reason", /Nothing to claim yet/);
  await shot(page, "05-round-committing");

  await fx.send(
    user.writeContract({ ...rounds, functionName: "commitUpdate", args: [1n, `0x${"c1".repeat(32)}`, 100n] }),
  );
  await waitText(page, "#round-trainers", /^1$/);
  await fx.advance(61);
  await lockAndSelect(fx.drawDriver(), 1n);
  await waitText(page, "#round-phase", /^aggregating$/);
  await waitText(page, "#round-aggregator", new RegExp(`^${aggregator.account.address}$`, "i"));
  await fx.send(
    aggregator.writeContract({
      ...rounds,
      functionName: "postAggregate",
      args: [1n, `0x${"aa".repeat(32)}`, `0x${"bb".repeat(32)}`, [100n]],
    }),
  );
  await drawSamplesWhenDue(fx.drawDriver(), 1n);
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
  await fx.send(
    aggregator.writeContract({
      ...rounds,
      functionName: "answerChallenge",
      args: [1n, sampled as bigint, proof],
    }),
  );
  await fx.advance(200);
  await fx.send(deployer.writeContract({ ...rounds, functionName: "finalizeRound", args: [1n] }));
  await waitText(page, "#round-phase", /^finalized$/);
  // 90% of the 1000 VAIN emission to the only trainer, 10% to the aggregator.
  assert.equal(await fx.read.claimable(user.account.address), parseEther("900"));
  await waitText(page, "#claimable", /^900 VAIN$/);
  assert.equal(await page.isDisabled("#claim"), false);
  assert.equal(await page.isHidden("#claim-reason"), true);

  // The timeline: finalized, with its close time and duration (the chain clock moved 261 s and more).
  const row1 = '#timeline-body tr[data-round="1"]';
  await waitText(page, row1, /finalized/);
  const cells = await page.$$eval(`${row1} td`, (tds) => tds.map((td) => td.textContent ?? ""));
  assert.match(cells[2] ?? "", /\d+:\d\d:\d\d/, "the close time is shown");
  assert.match(cells[3] ?? "", /^\d+ min/, "the duration is shown");
  assert.match(cells[5] ?? "", /^900 VAIN$/);
  // Earnings history, from the chain's RewardCredited events.
  await waitText(page, "#earned-total", /^900 VAIN earned in 1 of 1 rounds$/);
  assert.match(
    (await page.getAttribute("#chart-earnings", "aria-label")) ?? "",
    /1 rounds, latest 900 VAIN in round 1/,
  );
  assert.match((await page.getAttribute("#chart-duration", "aria-label")) ?? "", /latest \d+ min/);

  // The runtime reports the round's training figures; the chart follows live.
  await fx.recordMetrics({
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

  const balanceBefore = await fx.read.balance(user.account.address);
  await page.click("#claim");
  await waitText(page, "#action-status", /Claim: confirmed/);
  await waitText(page, "#claimable", /^0 VAIN$/);
  assert.equal((await fx.read.balance(user.account.address)) - balanceBefore, parseEther("900"));
  await waitText(page, "#balance", /^1,700 VAIN$/);
  // Nothing left: Claim is disabled again with its reason, instead of a click that can only revert.
  await waitText(page, "#claim-reason", /Nothing to claim yet/);
  assert.equal(await page.isDisabled("#claim"), true);
  // The earnings history is what was earned, not what is claimable: it stays.
  await waitText(page, "#earned-total", /^900 VAIN earned/);
  await shot(page, "07-claimed-claim-disabled");
}

/** Round 2: the other node is selected and misses its deadline; the round fails and is marked so. */
export async function othersMissedRound(fx: DashboardFixture, page: Page): Promise<void> {
  const { deployer, aggregator } = fx;
  const rounds = fx.rounds;
  await fx.send(deployer.writeContract({ ...rounds, functionName: "openRound", args: [1n] }));
  await waitText(page, "#round-id", /#2/);
  await fx.send(
    aggregator.writeContract({
      ...rounds,
      functionName: "commitUpdate",
      args: [2n, `0x${"c2".repeat(32)}`, 50n],
    }),
  );
  await fx.advance(61);
  await lockAndSelect(fx.drawDriver(), 2n);
  await fx.advance(61);
  await fx.send(deployer.writeContract({ ...rounds, functionName: "reportMissedAggregation", args: [2n] }));
  await waitText(page, "#slashes-body", /500 VAIN\s*missed aggregation deadline/);
  assert.doesNotMatch((await page.textContent("#slashes-body")) ?? "", /\(you\)/, "not the user's slash");
  await waitText(page, "#round-phase", /^failed$/);
  await waitText(page, "#peers-body", /500 VAIN/);
  await waitText(page, '#timeline-body tr[data-round="2"]', /failed: the aggregator missed its deadline/);
  await waitText(page, '#timeline-body tr[data-round="2"]', /0 VAIN \(did not train\)/);
  // Plotted apart: a cross off the accuracy line, a red bar, and counted as failed in the charts' names.
  await fx.recordMetrics({
    roundId: "2",
    accuracy: 0.84,
    loss: 0.52,
    bytesSent: 1_000,
    bytesReceived: 2_000,
  });
  await page.waitForSelector("#chart-accuracy path.failed-mark", { timeout: WAIT_MS });
  await waitAttribute(page, "#chart-accuracy", "aria-label", /2 rounds, 1 failed/);
  assert.equal(await page.locator("#chart-accuracy circle").count(), 1, "only the finalized round is a dot");
  await page.waitForSelector("#chart-duration rect.bar.failed", { timeout: WAIT_MS });
  await waitText(page, "#earned-total", /^900 VAIN earned in 1 of 2 rounds$/);
  await shot(page, "08-round-failed");
}

/** Round 3: the user's own node is selected as aggregator (marked), misses, and its slash is marked "(you)". */
export async function ownMissedRound(fx: DashboardFixture, page: Page): Promise<void> {
  const { deployer, user, aggregator } = fx;
  const rounds = fx.rounds;
  await fx.send(
    aggregator.writeContract({ ...rounds, functionName: "setAggregatorOptIn", args: [1n, false] }),
  );
  await fx.send(user.writeContract({ ...rounds, functionName: "setAggregatorOptIn", args: [1n, true] }));
  await fx.send(deployer.writeContract({ ...rounds, functionName: "openRound", args: [1n] }));
  await waitText(page, "#round-id", /#3/);
  await fx.send(
    aggregator.writeContract({
      ...rounds,
      functionName: "commitUpdate",
      args: [3n, `0x${"c3".repeat(32)}`, 50n],
    }),
  );
  await fx.advance(61);
  await lockAndSelect(fx.drawDriver(), 3n);
  await waitText(page, "#round-aggregator", /\(you: this node aggregates the round\)/);
  assert.equal(await page.getAttribute("#round-aggregator", "data-own"), "true");
  await waitAttribute(page, '#timeline-body tr[data-round="3"]', "data-own-aggregator", /^true$/);
  await waitText(page, '#timeline-body tr[data-round="3"]', /\(you\)/);
  await shot(page, "09-own-aggregator-duty");
  await fx.advance(61);
  await fx.send(deployer.writeContract({ ...rounds, functionName: "reportMissedAggregation", args: [3n] }));
  // Its backup, the round's one trainer, took the round over; it received no update and posts all-zero weights,
  // which fail the round at once (nobody else slashed or paid).
  await fx.send(
    aggregator.writeContract({
      ...rounds,
      functionName: "postAggregate",
      args: [3n, `0x${"a3".repeat(32)}`, `0x${"d3".repeat(32)}`, [0n]],
    }),
  );
  // Half of the user's 200 VAIN stake.
  await waitText(page, "#slashes-body tr:first-child", /\(you\)\s*100 VAIN\s*missed aggregation deadline/);
  assert.equal(await page.getAttribute("#slashes-body tr:first-child", "class"), "own");
  await waitText(page, '#timeline-body tr[data-round="3"]', /failed: the aggregator missed its deadline/);
  await waitText(page, "#active-stake", /^100 VAIN$/);
  await fx.send(user.writeContract({ ...rounds, functionName: "setAggregatorOptIn", args: [1n, false] }));
  await shot(page, "10-own-slash");
}
