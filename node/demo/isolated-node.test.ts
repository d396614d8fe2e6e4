/**
 * A node that lost every peer comes back and trains again (#25; session 16's soak: the spared node evicted its
 * honest peers one after the other, could not fetch a round's aggregate from anyone, and sat out 95 rounds). Here
 * node 0 evicts both of its peers (whatever the cause) while a round runs without it; once their refusal ends it
 * dials them again (node/p2p/redial.ts, or they it), fetches the round's aggregate it missed, holds the task's
 * current model and commits in the next round. Real chain, real nodes, real training.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { trainingRoundsAbi } from "../chain/contracts.ts";
import { setAggregators, startLocalVainNetwork, waitFor } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";

const PORT = 18993;
const ISOLATED = 0;
const AGGREGATOR = 1;
/** How long node 0 refuses the peers it evicted (ms): the abuse refusal, shortened (10 min in a node). */
const REFUSAL_MS = 15_000;

describe(
  "an isolated node rejoins, fetches the aggregate it missed and trains again",
  { timeout: 600_000 },
  () => {
    let net: LocalVainNetwork;

    before(async () => {
      net = await startLocalVainNetwork({
        nodes: 3,
        port: PORT,
        spec: {
          model: { kind: "mlp", inputSize: 784, hidden: [16], classes: 10 },
          train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
          aggregation: { proven: false },
        },
      });
      await setAggregators(net, [AGGREGATOR]);
    });

    after(async () => {
      await net?.stop();
    });

    it("commits again in the round after the one it was cut off in", async () => {
      const first = await runRound(net, 1);
      assert.equal(first.state, "finalized");
      const isolated = net.nodes[ISOLATED]!;
      for (const peer of net.nodes.filter((n) => n !== isolated))
        isolated.mesh.admission.evictForAbuse(peer.mesh.peerId.toString(), "test: evicted", REFUSAL_MS);
      await waitFor("node 0 to be alone", 30_000, async () =>
        isolated.mesh.admission.admitted().length === 0 && isolated.mesh.libp2p.getPeers().length === 0
          ? true
          : undefined,
      );
      const cutAt = Date.now();
      // A round without node 0's update (it commits, but cannot deliver to the aggregator it refuses).
      const missed = await runRound(net, 2);
      assert.equal(missed.state, "finalized");
      const { modelRef } = await net.publicClient.readContract({
        address: net.contracts.rounds,
        abi: trainingRoundsAbi,
        functionName: "getRound",
        args: [missed.roundId],
      });
      // Once the refusal ends, it is among peers again and derives the round's model from its fetched aggregate.
      await waitFor(
        "node 0 to hold round 2's model",
        180_000,
        async () =>
          isolated.participant.models.get(modelRef) ?? (await isolated.participant.ensureModel(modelRef)),
      );
      console.log(
        `isolated node: peers again ${isolated.mesh.admission.admitted().length}, round 2's model held ${Date.now() - cutAt} ms after the cut`,
      );
      const next = await runRound(net, 3);
      assert.equal(next.state, "finalized");
      assert.equal(next.included, net.trainers, "node 0 trained on round 2's model and its update counted");
    });
  },
);
