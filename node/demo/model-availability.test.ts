/**
 * A task's model stays available (#25; soak 8f stalled for good on a finalized model nobody held, and every
 * wiped node never trained again). A round's model is never taken from a peer by name: each node derives it from
 * the round's aggregate, checked against the posted commitment. So:
 * - an aggregator that posts and withholds the aggregate's bytes (or crashes right after posting) cannot stall
 *   the task: every node rebuilds the aggregate from the round's committed updates and trains the next round;
 * - a node that joins late (or lost its disk) replays the task's history: each round's aggregate, kept on disk
 *   by the nodes that checked it and served by its posted blob name, from the task's initial model on, including
 *   rounds older than anything peers hold in memory (ROUNDS_KEPT).
 * Real chain, real nodes with data directories, real training.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";

import type { Hex } from "viem";

import { trainingRoundsAbi } from "../chain/contracts.ts";
import { ROUNDS_KEPT } from "../protocol/round/context.ts";
import { setAggregators, startLocalVainNetwork, waitFor } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";

const PORT = 18899;
const WITHHOLDER = 0;
const HONEST = 1;
/** Rounds before the late node joins: more than peers keep in memory, so old aggregates come from disk. */
const ROUNDS = Number(ROUNDS_KEPT) + 2;

describe("model availability: a withheld aggregate, a late joiner", { timeout: 900_000 }, () => {
  let net: LocalVainNetwork;
  const finalized: bigint[] = [];

  before(async () => {
    net = await startLocalVainNetwork({
      nodes: 3,
      port: PORT,
      stores: true,
      windowS: 120n,
      behaviours: { [WITHHOLDER]: { withholdAggregate: true } },
      spec: {
        model: { kind: "mlp", inputSize: 784, hidden: [16], classes: 10 },
        train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
        // Unproven: no watcher recomputes the aggregate in a challenge window, so only the withholder has it.
        aggregation: { proven: false },
      },
    });
  });

  after(async () => {
    await net?.stop();
  });

  const modelRefOf = async (roundId: bigint): Promise<Hex> =>
    (
      await net.publicClient.readContract({
        address: net.contracts.rounds,
        abi: trainingRoundsAbi,
        functionName: "getRound",
        args: [roundId],
      })
    ).modelRef;

  it("rebuilds a withheld aggregate from the committed updates, and the next round trains on it", async () => {
    await setAggregators(net, [WITHHOLDER]);
    const withheld = await runRound(net, 1);
    assert.equal(withheld.state, "finalized");
    finalized.push(withheld.roundId);
    const ref = await modelRefOf(withheld.roundId);
    const own = await net.nodes[WITHHOLDER]!.participant.ensureModel(ref);
    assert.ok(own !== undefined, "the withholder holds its own model");
    for (const node of net.nodes.slice(1)) {
      const derived = await waitFor(`node ${node.index}'s model of the withheld round`, 120_000, () =>
        node.participant.ensureModel(ref),
      );
      assert.deepEqual(derived, own, `node ${node.index} derived the withholder's model`);
    }
    // Every trainer commits on that model (runRound waits for all of them).
    await setAggregators(net, [HONEST]);
    const next = await runRound(net, 2);
    assert.equal(next.state, "finalized");
    assert.equal(next.included, net.trainers, "every trainer trained on the rebuilt model");
    finalized.push(next.roundId);
  });

  it(`a node that joins after ${ROUNDS} rounds replays the task's history from its peers`, async () => {
    for (let round = finalized.length + 1; round <= ROUNDS; round++) {
      const report = await runRound(net, round);
      assert.equal(report.state, "finalized", `round ${round}`);
      finalized.push(report.roundId);
    }
    const latest = await modelRefOf(finalized[finalized.length - 1]!);
    const expected = await net.nodes[HONEST]!.participant.ensureModel(latest);
    assert.ok(expected !== undefined);
    const late = await net.join();
    const synced = await waitFor("the late node's model", 300_000, async () =>
      late.participant.models.get(latest),
    );
    assert.deepEqual(synced, expected, "the replayed model is the network's");
    // It fetched (and now keeps and serves) every round's aggregate, the withheld round's included.
    const history = await readdir(late.dataDir!, { recursive: true });
    const aggregates = history.filter((name) => name.endsWith(".agg"));
    assert.equal(aggregates.length, ROUNDS, `one aggregate per round: ${aggregates.join(", ")}`);
  });
});
