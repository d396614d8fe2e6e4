/**
 * A round above the contract's weights array (issue #21): 18 real nodes on a real `hardhat node`, 18 trainers in
 * one unproven round. The aggregator posts a weight sum tree root and the leaves (`postWeightsRoot`) instead of
 * an array, the round finalizes, and every accepted trainer's node claims its own share with its opening
 * (node/protocol/round/weight-claims.ts): the chain pays exactly `pool · weight / total` to each, nobody twice.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import pino from "pino";
import { parseEther } from "viem";

import { trainingRoundsAbi, vainTokenAbi } from "../chain/contracts.ts";
import { postedWeights } from "../protocol/round/weight-claims.ts";
import { setAggregators, startLocalVainNetwork, waitFor } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";

const PORT = 18887;
const NODES = 18;

describe("a round of 18 trainers posts a weight tree and its trainers claim", { timeout: 600_000 }, () => {
  let net: LocalVainNetwork;

  before(async () => {
    net = await startLocalVainNetwork({
      nodes: NODES,
      port: PORT,
      maxTrainersPerRound: NODES,
      rewardPerRound: parseEther("100"),
      pollIntervalMs: 800,
      // Flat (fan-in above the round): this test is about the chain's weight tree, not sub-aggregators.
      spec: {
        train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
        aggregation: { maxFanIn: 32, spotChecks: 4 },
      },
      log: pino({ level: process.env["VAIN_TEST_LOG"] ?? "silent" }, pino.destination(2)),
    });
  });

  after(async () => {
    await net?.stop();
  });

  it("finalizes with a weight root and pays every accepted trainer by claim", async () => {
    await setAggregators(net, [0]);
    const balanceOf = (a: `0x${string}`) =>
      net.publicClient.readContract({
        address: net.contracts.token,
        abi: vainTokenAbi,
        functionName: "balanceOf",
        args: [a],
      });
    const before = await Promise.all(net.nodes.map((n) => balanceOf(n.account.address)));
    const report = await runRound(net, 1, 400_000, 180_000);
    assert.equal(report.state, "finalized");
    const on = { address: net.contracts.rounds, abi: trainingRoundsAbi } as const;
    const round = await net.publicClient.readContract({
      ...on,
      functionName: "getRound",
      args: [report.roundId],
    });
    assert.equal(round.trainers.length, NODES);
    assert.equal(round.weights.length, 0, "no weights array above 16 trainers");
    const weights = await postedWeights(net.publicClient, net.contracts.rounds, report.roundId, round);
    assert.equal(weights.length, NODES, "the leaves are published");
    const accepted = weights.filter((w) => w > 0n).length;
    assert.ok(accepted >= NODES / 2, `${accepted} of ${NODES} accepted`);
    const [, totalWeight, pool, , funded] = await net.publicClient.readContract({
      ...on,
      functionName: "weightClaims",
      args: [report.roundId],
    });
    assert.ok(funded, "the trainers' pool is held for claims");
    assert.equal(
      totalWeight,
      weights.reduce((a, b) => a + b, 0n),
    );
    // Each node claims its own share once its round closed (claims.ts); no test code claims for them.
    await waitFor("every accepted trainer's claim", 120_000, async () => {
      for (const [i, w] of weights.entries()) {
        if (w === 0n) continue;
        const claimed = await net.publicClient.readContract({
          ...on,
          functionName: "isShareClaimed",
          args: [report.roundId, BigInt(i)],
        });
        if (!claimed) return undefined;
      }
      return true;
    });
    const [, , , paid] = await net.publicClient.readContract({
      ...on,
      functionName: "weightClaims",
      args: [report.roundId],
    });
    let expected = 0n;
    for (const [i, trainer] of round.trainers.entries()) {
      const share = (pool * weights[i]!) / totalWeight;
      expected += share;
      const node = net.nodes.findIndex((n) => n.account.address.toLowerCase() === trainer.toLowerCase());
      // A trainer's wallet grows by its share (plus what it claimed of its credits: the aggregator's share
      // goes to node 0 through `claim`); less the gas it spent, which is in ETH, not VAIN.
      if (node !== 0) {
        const gained = (await balanceOf(trainer)) - before[node]!;
        assert.equal(gained, share, `trainer ${i} paid its share exactly`);
      }
    }
    assert.equal(paid, expected, "paid = the sum of the shares");
  });
});
