/**
 * End to end against a backdoor: a real `hardhat node`, 5 real nodes over TCP, one of which trains on data
 * carrying a trigger patch relabelled to the target class (the round adversary's data-poisoning hook) and
 * commits and delivers that honestly computed update. The node's rule (the guarded mean with trainer
 * history) must give it weight 0 in every round, so it is paid nothing, and the global model must not learn
 * the backdoor. The aggregator rotates (node 0, then node 1): the second folds the first round's posted
 * weights into its trainer trust from the chain (aggregation/public-outcomes.ts), and the round's revealed updates
 * (every one node 0 screened, the rejected one included, handed out after posting) into its silent memories
 * (task-rule.ts `holdRevealed`), and no honest trainer may lose weight for it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import pino from "pino";
import { parseEther } from "viem";

import { triggeredTestSet } from "../adversary/backdoor.ts";
import { setAggregators, startLocalVainNetwork } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";

const PORT = 18700;
const REWARD = parseEther("100");
/** The aggregator of round 1, 2, ...: rotated, as the chain's stake-weighted draw would. */
const AGGREGATORS = [0, 1];
const BACKDOOR = 4;
const ROUNDS = 2;
/** Share of triggered test digits of other classes sent to the target: issue #20's bound. */
const MAX_BACKDOOR_SUCCESS = 0.1;

/**
 * What the nodes said that explains a failure: the aggregators on each update (who was screened out and why, who
 * was missing), and every warning or error.
 */
const AGGREGATION_LOG =
  /"level":(40|50|60)|"msg":"(updates rejected or down-weighted|aggregate posted|no update accepted|no usable update[^"]*|folded a past round[^"]*)"/;

describe("backdoor trainer in a real network (chain process + 5 nodes)", { timeout: 600_000 }, () => {
  let net: LocalVainNetwork;
  const aggregation: string[] = [];

  before(async () => {
    net = await startLocalVainNetwork({
      nodes: 5,
      port: PORT,
      rewardPerRound: REWARD,
      log: pino(
        { level: "debug" },
        { write: (line: string) => void (AGGREGATION_LOG.test(line) && aggregation.push(line.trim())) },
      ),
      behaviours: { [BACKDOOR]: { poisonData: "backdoor" } },
      spec: {
        train: { epochs: 2, batchSize: 32, learningRate: 0.1 },
        // The task's default compressed updates (top-k 0.5%, 4 bits): the guard's silent evidence counts input
        // rows. Dense updates ran here while its relative bounds had false positives at 4-5 trainers (an honest
        // trainer rejected for "silent-coordinates" in round 1 at top-k 5%, 2026-12-05; issue #20), fixed with
        // guarded-mean.sparse.test.ts.
        // McMahan's FedAvg step (base + aggregate), which this test's bars were set on; the default's lr 2
        // (TASK_FEDAVG_SERVER_LR) runs in server-optimizers.test and bench:round --compression.
        server: { optimizer: "fedavg", lr: 1 },
      },
    });
  });

  after(async () => {
    await net?.stop();
  });

  it("gives the backdoor trainer weight 0 and no reward every round, and the model does not learn the trigger", async () => {
    const backdoor = net.nodes[BACKDOOR]!.account.address.toLowerCase();
    for (let round = 1; round <= ROUNDS; round++) {
      await setAggregators(net, [AGGREGATORS[round - 1]!]);
      const report = await runRound(net, round);
      assert.equal(report.state, "finalized", `round ${round}; the nodes said:\n${aggregation.join("\n")}`);
      assert.equal(
        report.aggregator.toLowerCase(),
        net.nodes[AGGREGATORS[round - 1]!]!.account.address.toLowerCase(),
        `round ${round}: the chosen aggregator`,
      );
      assert.deepEqual(
        report.rejected.map((a) => a.toLowerCase()),
        [backdoor],
        `round ${round}: only the backdoor trainer is rejected (backdoor ${backdoor}); the nodes said:\n${aggregation.join("\n")}`,
      );
      const paid = [...report.rewards].find(([a]) => a.toLowerCase() === backdoor)?.[1] ?? 0n;
      assert.equal(paid, 0n, `round ${round}: the backdoor trainer is paid nothing`);
    }
    // Round 2's aggregator folded round 1 from its revealed updates, not from the posted weights alone.
    const folds = aggregation.filter((line) => line.includes("folded a past round"));
    assert.ok(
      folds.some((line) => line.includes('"revealed":true')),
      `round 1 folded from its revealed updates; the nodes said:\n${folds.join("\n")}`,
    );
    const { params } = await net.nodes[AGGREGATORS[ROUNDS - 1]!]!.participant.currentModel();
    assert.ok(params !== undefined, "the aggregator holds the global model");
    const triggered = triggeredTestSet(net.test);
    const success = (await net.pool.evaluate(net.spec.model, params, triggered)).accuracy;
    assert.ok(success <= MAX_BACKDOOR_SUCCESS, `backdoor success ${success}`);
  });
});
