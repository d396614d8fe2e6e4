/**
 * Standard ONNX in: a user's ONNX classifier (Gemm with transposed weights, ReLU, MatMul, Add, Softmax)
 * trains as a task model from its own initial weights; vAIn's own exports (MLP, CNN, transformer) import
 * back, and an imported transformer trains; an op outside the
 * set is refused with a typed error naming it. The task spec carries the graph without its weights and the
 * weights' content hash: small whatever the model's size, and bound to the weights.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import * as ort from "onnxruntime-node";

import { Rng } from "../core/rng.ts";
import { modelRef, paramsToBytes } from "../protocol/models.ts";
import { taskSpecSchema } from "../protocol/task-spec.ts";
import {
  EMBEDDED_ONNX_REFUSED,
  InitialModelByRefError,
  createModel,
  modelSpecSchema,
} from "./architectures.ts";
import { LocalTrainer } from "./engine.ts";
import { encodeModel, floatTensor, node, valueInfo } from "./graph/onnx.ts";
import { UnsupportedOnnxOpError, splitOnnxWeights } from "./onnx-import.ts";
import { OnnxModelError, exportOnnx } from "./onnx-model.ts";
import { textWindows } from "./text/windows.ts";
import { mapFloat32 } from "../core/vectors.ts";

/** A task's model spec for an ONNX file, as `model import` writes it, and the weights it names. */
function specOf(bytes: Uint8Array) {
  const { graph, initial } = splitOnnxWeights(bytes);
  const initialRef = modelRef(paramsToBytes(initial));
  return {
    spec: { kind: "onnx" as const, graph: Buffer.from(graph).toString("base64"), initialRef },
    initial,
  };
}

const rng = new Rng(4);
const W1 = mapFloat32({ length: 8 * 4 }, () => rng.normal() * 0.5); // [8, 4], used transposed
const B1 = new Float32Array(8);
const W2 = mapFloat32({ length: 8 * 3 }, () => rng.normal() * 0.5);
const B2 = new Float32Array(3);

function userModel(extra: ReturnType<typeof node>[] = []): Uint8Array {
  return encodeModel({
    name: "user",
    nodes: [
      node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["h"], { transB: 1 }),
      node("Relu", ["h"], ["a"]),
      ...extra,
      node("MatMul", ["a", "fc2.weight"], ["z"]),
      node("Add", ["z", "fc2.bias"], ["logits"]),
      node("Softmax", ["logits"], ["probs"], { axis: 1 }),
    ],
    inputs: [valueInfo("input", ["batch", 4])],
    outputs: [valueInfo("probs", ["batch", 3])],
    initializers: [
      floatTensor("fc1.weight", [8, 4], W1),
      floatTensor("fc1.bias", [8], B1),
      floatTensor("fc2.weight", [8, 3], W2),
      floatTensor("fc2.bias", [3], B2),
    ],
  });
}

/** Three separable classes: the label is the argmax of the first three features. */
function data(count: number) {
  const features = mapFloat32({ length: count * 4 }, () => rng.next());
  const labels = Uint8Array.from({ length: count }, (_, i) => {
    const row = features.subarray(i * 4, i * 4 + 3);
    return row.indexOf(Math.max(...row));
  });
  return { features, labels, count, featureSize: 4, classes: 3 };
}

describe("ONNX import", () => {
  it("trains a user's ONNX classifier from its own weights", async () => {
    const bytes = userModel();
    const { spec, initial } = specOf(bytes);
    const model = createModel(spec);
    assert.equal(model.initialRef, spec.initialRef);
    assert.throws(() => model.init(1), InitialModelByRefError);
    assert.equal(model.inputSize, 4);
    assert.equal(model.classes, 3);
    assert.deepEqual(
      model.layout.tensors.map((t) => t.name),
      ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"],
    );
    const trainer = await LocalTrainer.create(spec, { kind: "adam" });
    const user = await ort.InferenceSession.create(bytes);
    try {
      const test = data(300);
      // Before training, the imported model is the user's: same outputs (its Softmax applied to our logits).
      const ours = await trainer.logits(initial, test.features.subarray(0, 20), 5);
      const theirs = (
        await user.run({ input: new ort.Tensor("float32", test.features.subarray(0, 20), [5, 4]) })
      )["probs"]!.data as Float32Array;
      for (let r = 0; r < 5; r++) {
        const row = ours.subarray(r * 3, r * 3 + 3);
        const max = Math.max(...row);
        const sum = row.reduce((a, v) => a + Math.exp(v - max), 0);
        for (let c = 0; c < 3; c++)
          assert.ok(Math.abs(Math.exp(row[c]! - max) / sum - theirs[r * 3 + c]!) < 1e-5);
      }
      const before = await trainer.evaluate(initial, test);
      const trained = await trainer.train(initial, data(600), {
        epochs: 20,
        batchSize: 32,
        learningRate: 0.01,
      });
      const after = await trainer.evaluate(trained.params, test);
      assert.ok(
        after.accuracy > 0.85 && after.accuracy > before.accuracy,
        `${before.accuracy} → ${after.accuracy}`,
      );
    } finally {
      await trainer.close();
      await user.release();
    }
  });

  it("imports vAIn's own export back to the same logits", async () => {
    const mlp = createModel({ kind: "mlp", inputSize: 4, hidden: [6], classes: 3 });
    const params = mlp.init(2);
    const { spec, initial } = specOf(exportOnnx(mlp, params));
    assert.deepEqual(initial, params);
    const a = await LocalTrainer.create({ kind: "mlp", inputSize: 4, hidden: [6], classes: 3 });
    const b = await LocalTrainer.create(spec);
    try {
      const x = data(4).features;
      assert.deepEqual(await b.logits(initial, x, 4), await a.logits(params, x, 4));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("imports vAIn's CNN and transformer exports to the same logits, and trains the transformer", async () => {
    const sentence = textWindows([{ group: 0, texts: Array(12).fill("the cat sat on the mat") }], 8);
    const cases = [
      { spec: { kind: "cnn" as const }, rows: mapFloat32({ length: 3 * 784 }, () => rng.next()) },
      {
        spec: { kind: "transformer" as const, context: 8, width: 16, heads: 2, layers: 1 },
        rows: sentence.features.slice(0, 3 * 8),
      },
    ];
    for (const { spec: native, rows } of cases) {
      const model = createModel(native);
      const params = model.init(5);
      const { spec, initial } = specOf(exportOnnx(model, params));
      // The float initializers are the parameters, nothing else (the export writes constants as nodes).
      assert.deepEqual(initial, params);
      const a = await LocalTrainer.create(native);
      const b = await LocalTrainer.create(spec, { kind: "adam" });
      try {
        const mine = await a.logits(params, rows, 3);
        const imported = await b.logits(initial, rows, 3);
        for (let i = 0; i < mine.length; i++)
          assert.ok(Math.abs(mine[i]! - imported[i]!) < 1e-4, `${native.kind} logit ${i}`);
        if (native.kind !== "transformer") continue;
        // Through the embedding, attention, GELU and the last-position Gather: the imported graph learns
        // the sentence's next characters from the last position alone.
        const before = await b.evaluate(initial, sentence);
        const trained = await b.train(initial, sentence, { epochs: 30, batchSize: 16, learningRate: 0.01 });
        const after = await b.evaluate(trained.params, sentence);
        assert.ok(
          after.accuracy > 0.9 && after.accuracy > before.accuracy + 0.5,
          `${before.accuracy} → ${after.accuracy}`,
        );
      } finally {
        await a.close();
        await b.close();
      }
    }
  });

  it("names the first op it cannot differentiate", () => {
    const bytes = userModel([node("Sigmoid", ["a"], ["s"], {}), node("Conv", ["s"], ["a2"])]);
    assert.throws(
      () => splitOnnxWeights(bytes),
      (error: unknown) => error instanceof UnsupportedOnnxOpError && error.op === "Sigmoid",
    );
  });

  it("keeps the weights out of the spec, bound by their content hash", () => {
    // 256 -> 512 -> 10: 136,714 weights (547 KB), a graph of 426 bytes (568 base64 characters).
    const big = createModel({ kind: "mlp", inputSize: 256, hidden: [512], classes: 10 });
    const params = big.init(3);
    const file = exportOnnx(big, params);
    const { spec, initial } = specOf(file);
    assert.deepEqual(initial, params);
    const specBytes = JSON.stringify(taskSpecSchema.parse({ model: spec }).model).length;
    assert.ok(file.length > 500_000 && specBytes < 4_000, `file ${file.length} B, spec ${specBytes} B`);
    assert.equal(createModel(spec).layout.size, big.layout.size);
    // Other weights, same graph: another initialRef, so another spec (and spec hash).
    const other = specOf(exportOnnx(big, big.init(4))).spec;
    assert.equal(other.graph, spec.graph);
    assert.notEqual(other.initialRef, spec.initialRef);
  });

  it("refuses an embedded spec, a malformed ref and a file with only some weights", () => {
    const embedded = modelSpecSchema.safeParse({
      kind: "onnx",
      model: Buffer.from(userModel()).toString("base64"),
    });
    assert.ok(!embedded.success);
    // First, so a config error (which names one issue) says what to do rather than "graph: Required".
    assert.equal(embedded.error.issues[0]!.message, EMBEDDED_ONNX_REFUSED);
    const { spec } = specOf(userModel());
    assert.ok(!modelSpecSchema.safeParse({ ...spec, initialRef: spec.initialRef.toUpperCase() }).success);
    const partial = encodeModel({
      name: "partial",
      nodes: [node("MatMul", ["input", "w"], ["z"]), node("Add", ["z", "b"], ["logits"])],
      inputs: [valueInfo("input", ["batch", 4])],
      outputs: [valueInfo("logits", ["batch", 3])],
      initializers: [
        floatTensor("w", [4, 3], new Float32Array(12).fill(0.1)),
        floatTensor("b", [3], new Float32Array(0)),
      ],
    });
    assert.throws(() => splitOnnxWeights(partial), OnnxModelError);
  });
});
