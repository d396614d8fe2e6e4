/**
 * Model distribution that scales (issue #21): a round's aggregate reaches every node without all of them pulling
 * it from the aggregator. Measured in session 9, the aggregator uploaded it once per node (70.8 / 200.0 / 567.0 KB
 * at 16 / 32 / 64 nodes). Now the aggregator hands it to a few seed peers, and every other node fetches it from
 * admitted peers in random order (the aggregator last), each fetch checked against the posted commitment, so
 * the nodes that already hold it serve it. Real chain, 8 real nodes, real training, an unproven round (in which
 * nobody recomputes the aggregate from the updates: every node needs the aggregate's bytes).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import pino from "pino";

import { trainingRoundsAbi } from "../chain/contracts.ts";
import { AGGREGATE_COPIES_PER_HOLDER } from "../protocol/round/copy-budget.ts";
import { AGGREGATE_SEED_PEERS } from "../protocol/round/round-data.ts";
import { setAggregators, startLocalVainNetwork, waitFor } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";

const PORT = 18877;
const NODES = 8;
const AGGREGATOR = 0;

describe("a round's aggregate spreads from the nodes that hold it", { timeout: 600_000 }, () => {
  let net: LocalVainNetwork;

  before(async () => {
    net = await startLocalVainNetwork({
      nodes: NODES,
      port: PORT,
      pollIntervalMs: 800,
      spec: {
        train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
        aggregation: { proven: false },
      },
      log: pino({ level: process.env["VAIN_TEST_LOG"] ?? "silent" }, pino.destination(2)),
    });
  });

  after(async () => {
    await net?.stop();
  });

  it(`the aggregator hands its aggregate to at most ${AGGREGATE_SEED_PEERS} peers; the rest get it from holders`, async (t) => {
    await setAggregators(net, [AGGREGATOR]);
    const served = () => net.nodes.map((node) => node.participant.stats.aggregatesServed);
    const before = served();
    const report = await runRound(net, 1, 300_000);
    assert.equal(report.state, "finalized");
    const { modelRef } = await net.publicClient.readContract({
      address: net.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [report.roundId],
    });
    const expected = await net.nodes[AGGREGATOR]!.participant.ensureModel(modelRef);
    assert.ok(expected !== undefined, "the aggregator holds its round's model");
    for (const node of net.nodes) {
      const model = await waitFor(`node ${node.index}'s model of the round`, 120_000, async () =>
        node.participant.models.get(modelRef),
      );
      assert.deepEqual(model, expected, `node ${node.index} derived the aggregator's model`);
    }
    const handed = served().map((count, i) => count - before[i]!);
    const total = handed.reduce((a, b) => a + b, 0);
    t.diagnostic(`aggregates handed out per node: ${handed.join(", ")}`);
    assert.ok(
      handed[AGGREGATOR]! <= AGGREGATE_SEED_PEERS,
      `the aggregator handed its aggregate out ${handed[AGGREGATOR]} times (per node: ${handed.join(", ")})`,
    );
    // A holder hands out each aggregate a bounded number of times (copy-budget.ts).
    for (const [i, count] of handed.entries())
      if (i !== AGGREGATOR)
        assert.ok(count <= AGGREGATE_COPIES_PER_HOLDER, `node ${i} handed out ${count} copies`);
    // Every other node got it pushed or fetched from someone: the peers served the rest.
    assert.ok(total >= NODES - 1, `aggregates handed out in all: ${total} (per node: ${handed.join(", ")})`);
  });
});
