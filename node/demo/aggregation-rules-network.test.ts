/**
 * Every aggregation rule a task may run in the node (protocol/task-aggregation.ts `NODE_RULE_NAMES`, issue #22:
 * the rule is a task spec field) on a real chain with 5 real nodes, one of which sends a sign-flipped update
 * (×−4): the task records the spec's rule, the round finalizes proven, and the posted weights are the rule's.
 * A rule that screens single updates (the registry's `screensSingleUpdates`) gives the poisoner weight 0: the
 * screened and guarded means and Multi-Krum (f = 1 of 5, so it keeps 4) reject it alone, Krum keeps one honest
 * update. FedAvg posts every trainer's sample count, the poisoner's too, which is what choosing it means.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { taskRuleId } from "../chain/actions/create-task.ts";
import { trainingRoundsAbi } from "../chain/contracts.ts";
import { aggregationRule } from "../aggregation/rules/index.ts";
import { MAX_WEIGHT } from "../proofs/index.ts";
import { NODE_RULE_NAMES } from "../protocol/task-aggregation.ts";
import { setAggregators, startLocalVainNetwork } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";

const PORT = 18873;
const POISONER = 4;

describe(
  "every node aggregation rule on a real network (chain process + 5 nodes)",
  { timeout: 1_200_000 },
  () => {
    let net: LocalVainNetwork | undefined;
    after(async () => {
      await net?.stop();
    });

    for (const rule of NODE_RULE_NAMES) {
      it(`${rule}: the task records it and the round posts its weights`, async () => {
        net = await startLocalVainNetwork({
          nodes: 5,
          port: PORT,
          // As server-optimizers.test: phases long enough for a loaded CI machine (the clock moves on once done).
          windowS: 120n,
          behaviours: { [POISONER]: { poison: "sign-flip" } },
          spec: {
            train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
            // network.test's compression (top-k 5%, float32), on which the guarded mean keeps all 4 honest updates
            // of 5 (its false positives on sparser updates at this size are issue #20's, not this test's). FedAvg's
            // run, whose weights do not depend on the updates' values, trains with DGC momentum correction too
            // (`compression.momentum`, Lin et al. 2018), the compression option no other network test sets.
            compression: { ratio: 0.05, quantizeBits: 32, momentum: rule === "fedavg" ? 0.9 : 0 },
            aggregation: { rule },
          },
        });
        try {
          const task = await net.publicClient.readContract({
            address: net.contracts.rounds,
            abi: trainingRoundsAbi,
            functionName: "getTask",
            args: [net.taskId],
          });
          assert.equal(task.ruleId, taskRuleId(rule), "the chain records the spec's rule");
          await setAggregators(net, [0]);
          const report = await runRound(net, 1);
          assert.equal(report.state, "finalized");
          assert.equal(report.proven, true, "a node rule is a weighted mean the circuit proves");
          const round = await net.publicClient.readContract({
            address: net.contracts.rounds,
            abi: trainingRoundsAbi,
            functionName: "getRound",
            args: [report.roundId],
          });
          const poisoner = net.nodes[POISONER]!.account.address.toLowerCase();
          const at = round.trainers.findIndex((t) => t.toLowerCase() === poisoner);
          assert.ok(at >= 0, "the poisoner committed");
          assert.equal(round.trainers.length, 5, "every node trained");
          if (rule === "krum") {
            assert.equal(round.weights[at], 0n, "Krum does not select the sign-flipped update");
            assert.equal(round.weights.filter((w) => w > 0n).length, 1, "Krum selects one update");
            assert.equal(report.rejected.length, 4, "the other four get weight 0");
          } else if (aggregationRule(rule).screensSingleUpdates({})) {
            assert.equal(round.weights[at], 0n, `${rule} gives the sign-flipped update weight 0`);
            assert.deepEqual(
              report.rejected.map((a) => a.toLowerCase()),
              [poisoner],
              `${rule} rejects the poisoner only`,
            );
          } else {
            round.weights.forEach((w, i) =>
              assert.equal(
                w,
                BigInt(Math.min(Number(round.sampleCounts[i]!), MAX_WEIGHT)),
                `${rule} weighs trainer ${i} by its sample count`,
              ),
            );
            assert.deepEqual(report.rejected, [], `${rule} rejects nobody`);
          }
        } finally {
          await net.stop();
          net = undefined;
        }
      });
    }
  },
);
