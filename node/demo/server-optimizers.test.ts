/**
 * Every server optimizer a task may choose (FedAvg at the task default's lr 2, FedAdam, FedYogi, DiLoCo's outer
 * step) on a real chain with real nodes: two rounds finalize, and every node holds exactly the model a direct
 * recomputation gives from the task's initial model and the two posted aggregates (fetched by the blob name the
 * chain emitted and checked against the posted commitments), which is not base + aggregate; so does a node that
 * joins afterwards, replaying both rounds. Trainers train locally with FedProx (`train.proxMu`).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { trainingRoundsAbi } from "../chain/contracts.ts";
import { commitEncoded } from "../proofs/index.ts";
import { aggregateFromBytes, nextModel } from "../protocol/round/next-model.ts";
import { serverStep } from "../protocol/round/server-step.ts";
import type { ModelState } from "../protocol/round/server-step.ts";
import { createModel } from "../training/architectures.ts";
import { TASK_SERVER_OPTIMIZERS } from "../training/server/index.ts";
import { setAggregators, startLocalVainNetwork, waitFor } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";

const PORT = 18846;
const ROUNDS = 2;

/** The aggregate a round posted, fetched from its aggregator by the emitted blob name and checked. */
async function postedAggregate(net: LocalVainNetwork, roundId: bigint): Promise<Uint16Array> {
  const [event] = await net.publicClient.getContractEvents({
    address: net.contracts.rounds,
    abi: trainingRoundsAbi,
    eventName: "AggregatePosted",
    args: { roundId },
    fromBlock: 0n,
  });
  const sha = event!.args.aggregateData!.slice(2);
  const round = await net.nodes[1]!.participant.readRound(roundId);
  const holder = net.nodes.find((n) => n.account.address.toLowerCase() === round.aggregator.toLowerCase())!;
  const asker = net.nodes.find((n) => n !== holder)!;
  const paramSize = createModel(net.spec.model).layout.size;
  const bytes = await asker.mesh.blobs.fetch(holder.mesh.peerId, sha, paramSize * 2);
  const aggregate = aggregateFromBytes(bytes, paramSize);
  assert.ok(aggregate !== undefined, "the posted blob is an encoded aggregate");
  assert.equal((await commitEncoded(aggregate)).root.toLowerCase(), round.aggregateCommitment.toLowerCase());
  return aggregate;
}

describe("server optimizers on a real network", { timeout: 900_000 }, () => {
  let net: LocalVainNetwork | undefined;
  after(async () => {
    await net?.stop();
  });

  for (const optimizer of TASK_SERVER_OPTIMIZERS) {
    it(`${optimizer}: every node recomputes the same model from the proven aggregates`, async () => {
      net = await startLocalVainNetwork({
        nodes: 3,
        port: PORT,
        // Proofs take 4 s quiet and over 50 s at load 15: phases long enough for a loaded CI machine (the clock
        // is moved past each phase once its work is done).
        windowS: 120n,
        // Trainers run FedProx (μ 0.01, the task's train.proxMu) on the way: a local strategy on a real network.
        spec: { train: { epochs: 1, batchSize: 32, learningRate: 0.1, proxMu: 0.01 }, server: { optimizer } },
      });
      try {
        await setAggregators(net, [0]);
        const roundIds: bigint[] = [];
        for (let round = 1; round <= ROUNDS; round++) {
          const report = await runRound(net, round);
          assert.equal(report.state, "finalized", `round ${round}`);
          roundIds.push(report.roundId);
        }
        let expected: ModelState = {
          params: createModel(net.spec.model).init(net.spec.initSeed),
          server: [],
        };
        let plain = expected.params;
        for (const roundId of roundIds) {
          const aggregate = await postedAggregate(net, roundId);
          plain = nextModel(expected.params, aggregate);
          expected = serverStep(net.spec.server, expected, aggregate);
        }
        assert.notDeepEqual(expected.params, plain, `${optimizer} is not base + aggregate`);
        for (const node of net.nodes) {
          const { ref } = await node.participant.currentModel();
          const held = await node.participant.ensureModel(ref);
          assert.deepEqual(held, expected.params, `node ${node.index} holds the recomputed model`);
        }
        // A node that joins now replays both rounds from the initial model, the optimizer's state with them.
        const late = await net.join();
        const { ref } = await net.nodes[0]!.participant.currentModel();
        const replayed = await waitFor("the late node's model", 120_000, () =>
          late.participant.ensureModel(ref),
        );
        assert.deepEqual(replayed, expected.params, "the late node replayed the same model");
      } finally {
        await net.stop();
        net = undefined;
      }
    });
  }
});
