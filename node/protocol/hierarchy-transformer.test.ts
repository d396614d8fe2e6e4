/**
 * The character transformer through a hierarchical round (#23: "everything that exists for MNIST keeps
 * working"): a real network (hardhat process, 5 nodes over TCP) trains the demo's WordNet transformer with Adam,
 * nodes holding whole topics, and a fan-in of 2 sends the updates through a tree of sub-aggregators. The
 * posted aggregate is bit for bit the flat aggregate of every trainer's update, every node derives the same
 * next model from it, and the model predicts held-out glosses better than the one it started from.
 *
 * hierarchy.test.ts runs the MLP through a 3-level tree (and the lying sub-aggregator); this file changes the
 * model only, so what it adds is the transformer's parameter vector (110,400 parameters, 1,725 chunks) through
 * partials, openings and the derived model.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import pino from "pino";

import { decodeUpdate, densify } from "../compression/index.ts";
import { trainingRoundsAbi } from "../chain/contracts.ts";
import { CHUNK_SIZE, aggregateFixedPoint, commitEncoded, encodeFixedPoint } from "../proofs/index.ts";
import { setAggregators, startLocalVainNetwork, waitFor } from "../demo/network.ts";
import type { LocalVainNetwork } from "../demo/network.ts";
import { runRound } from "../demo/rounds.ts";
import { optimizerSpecSchema } from "../training/train-graph.ts";
import { modelSpecSchema } from "../training/architectures.ts";
import { roundTreeFromChain } from "./hierarchy.ts";

/** The chain's port: unused by every other test (grep 186xx–188xx before changing it). */
const PORT = 18_893;
const FAN_IN = 2;
const NODES = 5;
/** The demo's transformer (node/demo/demo.ts): what an operator's `demo --model transformer` trains. */
const MODEL = modelSpecSchema.parse({ kind: "transformer", width: 64, heads: 2, layers: 2, context: 32 });

describe(
  "a transformer through a hierarchical round (hardhat + 5 nodes, fan-in 2)",
  { timeout: 600_000 },
  () => {
    let net: LocalVainNetwork;

    before(async () => {
      net = await startLocalVainNetwork({
        nodes: NODES,
        port: PORT,
        // As hierarchy.test: the levels' cut-offs (1/3, 2/3, 3/3 of the wait) must fit a loaded CI machine.
        windowS: 120n,
        aggregateWaitMs: 60_000,
        // VAIN_TEST_LOG=info shows the nodes' protocol logs on stderr.
        log: pino({ level: process.env["VAIN_TEST_LOG"] ?? "silent" }, pino.destination(2)),
        spec: {
          model: MODEL,
          train: {
            epochs: 1,
            batchSize: 32,
            learningRate: 0.003,
            optimizer: optimizerSpecSchema.parse({ kind: "adam" }),
          },
          // The demo transformer's compression (top-k 5%, float32) and server step (FedAvg lr 1).
          compression: { ratio: 0.05, quantizeBits: 32, momentum: 0 },
          server: { optimizer: "fedavg", lr: 1 },
          aggregation: { maxFanIn: FAN_IN, spotChecks: 2 },
        },
      });
      await setAggregators(net, [0]);
    });

    after(async () => {
      await net?.stop();
    });

    it("aggregates exactly through sub-aggregators, and the derived model predicts better", async () => {
      const initial = net.nodes[0]!.participant.models.get(net.nodes[0]!.participant.initialModelRef)!;
      assert.equal(initial.length, 110_400);
      assert.equal(Math.ceil(initial.length / CHUNK_SIZE), 1_725, "docs/protocol.md §7's chunk count");
      const before = await net.pool.evaluate(net.spec.model, initial, net.test);

      const report = await runRound(net, 1, 240_000, 20_000);
      assert.equal(report.state, "finalized");
      const round = await net.publicClient.readContract({
        address: net.contracts.rounds,
        abi: trainingRoundsAbi,
        functionName: "getRound",
        args: [report.roundId],
      });
      const tree = await roundTreeFromChain(
        net.publicClient,
        net.contracts.rounds,
        report.roundId,
        round,
        FAN_IN,
      );
      assert.ok(tree.hierarchical && tree.plan.depth >= 2, `a tree of depth ${tree.plan.depth}`);
      assert.equal(round.proven, false, "hierarchical rounds are posted unproven");
      assert.equal(
        round.weights.filter((w) => w > 0n).length,
        NODES,
        "every honest trainer's update is included",
      );
      for (const node of net.nodes) {
        const inputs = node.participant.outcome(report.roundId)?.inputs ?? 0;
        assert.ok(inputs <= FAN_IN + 1, `node ${node.index} received ${inputs} inputs`);
      }

      // The posted aggregate is the flat one of the same updates and weights.
      const byOperator = new Map(net.nodes.map((n) => [n.account.address.toLowerCase(), n]));
      const encoded = round.trainers.map((t) =>
        encodeFixedPoint(
          densify(decodeUpdate(byOperator.get(t.toLowerCase())!.participant.ownUpdate(report.roundId)!)),
        ),
      );
      const { aggregate } = aggregateFixedPoint(encoded, round.weights.map(Number));
      assert.equal(
        round.aggregateCommitment,
        (await commitEncoded(aggregate)).root,
        "posted = flat aggregate",
      );

      // Every node derives the same next model, and it predicts the held-out glosses better than the initial one.
      const next = await waitFor("every node's derived model", 60_000, async () => {
        const models = net.nodes.map((n) => n.participant.models.get(round.modelRef));
        return models.every((m) => m !== undefined) ? models : undefined;
      });
      for (const model of next) assert.deepEqual(model, next[0]);
      const after = await net.pool.evaluate(net.spec.model, next[0]!, net.test);
      assert.ok(after.loss < before.loss, `held-out loss ${before.loss} → ${after.loss}`);
      process.stderr.write(
        `transformer hierarchical round: depth ${tree.plan.depth}, accuracy ${(before.accuracy * 100).toFixed(1)}% → ` +
          `${(after.accuracy * 100).toFixed(1)}%, loss ${before.loss.toFixed(3)} → ${after.loss.toFixed(3)}, ` +
          `${report.bytesSent} bytes sent, ${(report.durationMs / 1000).toFixed(1)} s\n`,
      );
    });
  },
);
