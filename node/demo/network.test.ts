/**
 * End to end: a real `hardhat node`, 5 real nodes over TCP on 127.0.0.1, 3 rounds of MNIST training with
 * compressed updates on streams, real Groth16 proofs, a cheating aggregator slashed on chain, a poisoned
 * trainer rejected, rewards exactly as the contract specifies, clean shutdown.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { parseEther } from "viem";

import { trainingRoundsAbi } from "../chain/contracts.ts";
import { DEFAULT_ROUND_PARAMS } from "../chain/constants.ts";
import { setAggregators, startLocalVainNetwork } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";
import type { RoundReport } from "./rounds.ts";

const PORT = 18630;
const REWARD = parseEther("100");
const HONEST = 0;
const CHEATER = 1;
const POISONER = 4;

describe("vAIn network end to end (chain process + 5 nodes + zk)", { timeout: 600_000 }, () => {
  let net: LocalVainNetwork;
  const reports: RoundReport[] = [];

  before(async () => {
    net = await startLocalVainNetwork({
      nodes: 5,
      port: PORT,
      rewardPerRound: REWARD,
      behaviours: {
        // Posts a biased aggregate and answers its challenge with a proof over made-up trainer values: the
        // chain accepts it optimistically, and a trainer shows the chunk hash it really committed.
        [CHEATER]: { cheatAggregate: true, lieInProof: true },
        [POISONER]: { poison: "sign-flip" },
      },
      spec: {
        train: { epochs: 2, batchSize: 32, learningRate: 0.1 },
        // The pre-#22 compression (top-k 5%, float32) this test's bars were set on: the default's 0.5% 4-bit
        // updates learn more slowly in early rounds (bench:round --compression); server-optimizers.test runs it.
        compression: { ratio: 0.05, quantizeBits: 32, momentum: 0 },
        // McMahan's FedAvg step (base + aggregate), which this test's bars were set on; the default's lr 2
        // (TASK_FEDAVG_SERVER_LR) runs in server-optimizers.test and bench:round --compression.
        server: { optimizer: "fedavg", lr: 1 },
      },
    });
  });

  after(async () => {
    await net?.stop();
  });

  it("runs 3 rounds: accuracy rises, the cheater is slashed, the poisoner earns nothing", async () => {
    for (const [round, aggregator] of [
      [1, HONEST],
      [2, CHEATER],
      [3, HONEST],
    ] as const) {
      await setAggregators(net, [aggregator]);
      reports.push(await runRound(net, round));
    }
    const [first, cheated, third] = reports as [RoundReport, RoundReport, RoundReport];
    const address = (i: number) => net.nodes[i]!.account.address;

    // Honest rounds finalize and the model improves on held-out digits.
    assert.equal(first.state, "finalized");
    assert.equal(third.state, "finalized");
    assert.ok(first.accuracy > 0.5, `round 1 accuracy ${first.accuracy}`);
    assert.ok(third.accuracy > first.accuracy, `accuracy ${first.accuracy} -> ${third.accuracy}`);

    // The cheating aggregator's false statement was disputed: it lost half its stake and the round failed.
    assert.equal(cheated.state, "failed");
    assert.equal(cheated.aggregator.toLowerCase(), address(CHEATER).toLowerCase());
    assert.ok((cheated.slashed.get(address(CHEATER)) ?? 0n) > 0n, "cheater slashed");
    const disputes = await net.publicClient.getContractEvents({
      address: net.contracts.rounds,
      abi: trainingRoundsAbi,
      eventName: "StatementDisputed",
      args: { roundId: cheated.roundId },
      fromBlock: 0n,
    });
    assert.equal(disputes.length, 1, "the false statement was disputed by a watching node");
    // The statement's Poseidon hash is consistent: only a trainer holding its update could disprove it.
    const round = await net.publicClient.readContract({
      address: net.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [cheated.roundId],
    });
    const reporter = disputes[0]!.args.reporter!.toLowerCase();
    assert.ok(
      round.trainers.some((t) => t.toLowerCase() === reporter),
      "the disputer is a trainer of the round",
    );
    assert.equal(cheated.accuracy, first.accuracy, "a failed round leaves the global model unchanged");

    // Rewards: trainers share 90% of the emission by weight, the aggregator gets 10%; the poisoner gets 0.
    for (const report of [first, third]) {
      // Exactly the poisoner: every other trainer is honest and counts, the slow ones of a loaded machine too
      // (guarded-mean.small-rounds.test.ts; a fresh-clone CI at load 10 once rejected one of them, issue #20).
      assert.deepEqual(
        report.rejected.map((a) => a.toLowerCase()),
        [address(POISONER).toLowerCase()],
      );
      const round = await net.publicClient.readContract({
        address: net.contracts.rounds,
        abi: trainingRoundsAbi,
        functionName: "getRound",
        args: [report.roundId],
      });
      const aggregatorShare = (REWARD * BigInt(DEFAULT_ROUND_PARAMS.aggregatorRewardBps)) / 10_000n;
      const total = round.weights.reduce((a, b) => a + b, 0n);
      round.trainers.forEach((trainer, i) => {
        const expected = ((REWARD - aggregatorShare) * round.weights[i]!) / total;
        const bonus = trainer.toLowerCase() === report.aggregator.toLowerCase() ? aggregatorShare : 0n;
        assert.equal(
          report.rewards.get(trainer),
          expected + bonus,
          `reward of trainer ${i} in round ${report.round}`,
        );
      });
      assert.equal(report.rewards.get(address(POISONER)), 0n);
    }
  });
});
