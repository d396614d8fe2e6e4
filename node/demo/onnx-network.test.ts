/**
 * An imported ONNX model on a real network: the task spec carries the graph and the weights' content hash only,
 * one node holds the weights (the importing operator's), and the others fetch them from it by that hash and
 * check them, so a round trains from the user's weights on every node and finalizes.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { modelRef, paramsToBytes } from "../protocol/models.ts";
import { createModel } from "../training/architectures.ts";
import { splitOnnxWeights } from "../training/onnx-import.ts";
import { exportOnnx } from "../training/onnx-model.ts";
import { setAggregators, startLocalVainNetwork, waitFor } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";

const PORT = 18863;

describe("an imported ONNX model on a real network", { timeout: 600_000 }, () => {
  let net: LocalVainNetwork | undefined;
  after(async () => {
    await net?.stop();
  });

  it("nodes fetch the weights by initialRef from the one that has them, and a round finalizes", async () => {
    // The user's model: a 784-16-10 classifier written by any tool (here vAIn's export, seed 5).
    const user = createModel({ kind: "mlp", inputSize: 784, hidden: [16], classes: 10 });
    const weights = user.init(5);
    const { graph, initial } = splitOnnxWeights(exportOnnx(user, weights));
    const initialRef = modelRef(paramsToBytes(initial));
    const model = { kind: "onnx" as const, graph: Buffer.from(graph).toString("base64"), initialRef };
    net = await startLocalVainNetwork({
      nodes: 3,
      port: PORT,
      spec: { model, train: { epochs: 1, batchSize: 32, learningRate: 0.1 } },
      initialModel: initial,
    });
    const nodes = net.nodes;
    // The task names the weights' hash; no node could draw them from a seed.
    assert.equal(nodes[1]!.participant.initialModelRef, initialRef);
    for (const node of nodes) {
      const held = await waitFor(`node ${node.index} holds the initial weights`, 60_000, () =>
        node.participant.ensureModel(initialRef),
      );
      assert.deepEqual(held, weights);
    }
    await setAggregators(net, [0]);
    const report = await runRound(net, 1);
    assert.equal(report.state, "finalized");
    const { ref } = await nodes[2]!.participant.currentModel();
    assert.notEqual(ref, initialRef);
    assert.ok((await nodes[2]!.participant.ensureModel(ref)) !== undefined);
  });
});
