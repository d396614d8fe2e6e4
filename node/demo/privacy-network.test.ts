/**
 * A differentially private task (`privacy.dp`, issue #22: every strategy the node accepts runs on a real chain):
 * each trainer clips its update to `clipNorm` and adds Gaussian noise before it commits, so the aggregate stays
 * provable; the rounds finalize proven and each trainer's RDP accountant reports the (epsilon, delta) its
 * committed rounds spent.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { setAggregators, startLocalVainNetwork } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";

const PORT = 18848;
const ROUNDS = 2;
const DELTA = 1e-5;

describe("differential privacy on a real network", { timeout: 600_000 }, () => {
  let net: LocalVainNetwork | undefined;
  after(async () => {
    await net?.stop();
  });

  it("DP-noised updates finalize proven rounds and every trainer accounts for its epsilon", async () => {
    net = await startLocalVainNetwork({
      nodes: 3,
      port: PORT,
      // As server-optimizers.test: phases long enough for a loaded CI machine (the clock moves on once done).
      windowS: 120n,
      // Noise small enough to keep learning visible at this size: the test is the plumbing, not the budget.
      spec: {
        train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
        privacy: { dp: { clipNorm: 1, noiseMultiplier: 0.001, delta: DELTA }, secureAggregation: false },
      },
    });
    await setAggregators(net, [0]);
    const committed = new Map<number, number>();
    for (let round = 1; round <= ROUNDS; round++) {
      const report = await runRound(net, round);
      assert.equal(report.state, "finalized", `round ${round}`);
      assert.equal(report.proven, true, `round ${round} is proven: noise is added before the commitment`);
      assert.ok(report.included > 0, `round ${round} included ${report.included} updates`);
      for (const node of net.nodes)
        if (node.participant.ownUpdate(report.roundId) !== undefined)
          committed.set(node.index, (committed.get(node.index) ?? 0) + 1);
    }
    assert.ok(committed.size > 0, "some node committed");
    for (const node of net.nodes) {
      const spent = node.participant.privacySpent();
      assert.ok(spent !== undefined, `node ${node.index} accounts under the task's DP settings`);
      assert.equal(spent.rounds, committed.get(node.index) ?? 0, `node ${node.index}'s private rounds`);
      assert.equal(spent.delta, DELTA);
      if (spent.rounds > 0)
        assert.ok(
          Number.isFinite(spent.epsilon) && spent.epsilon > 0,
          `node ${node.index} epsilon ${spent.epsilon}`,
        );
    }
  });
});
