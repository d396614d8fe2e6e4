/**
 * The transformer model family: its whole training loss differentiates correctly (finite differences on
 * sampled parameters), it learns a character pattern in the worker pool, and its spec is validated.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import * as ort from "onnxruntime-node";

import { Rng } from "../core/rng.ts";
import { createModel, modelSpecSchema } from "./architectures.ts";
import { GraphBuilder } from "./graph/autodiff.ts";
import { encodeModel } from "./graph/onnx.ts";
import { TrainingPool } from "./pool.ts";
import { ALPHABET_SIZE, decodeIds, encodeText } from "./text/alphabet.ts";
import { TRANSFORMER_VOCAB } from "./constants.ts";
import { textWindows } from "./text/windows.ts";
import { partitionIndices } from "./data/partition.ts";
import { mapFloat32 } from "../core/vectors.ts";

const TINY = {
  kind: "transformer",
  vocab: 7,
  context: 4,
  width: 8,
  heads: 2,
  layers: 2,
  mlpRatio: 2,
} as const;

describe("transformer", () => {
  it("its loss gradient matches finite differences on sampled parameters", async () => {
    const model = createModel(TINY);
    const g = new GraphBuilder();
    const x = g.input("x", [-1, 4]);
    const y = g.input("y", [-1, 7]);
    const params = model.layout.tensors.map((t) => g.input(`p/${t.name}`, t.shape, true));
    const loss = model.loss!(g, x, y, new Map(model.layout.tensors.map((t, i) => [t.name, params[i]!])));
    g.output(loss, "loss");
    g.gradients(loss, params).forEach((grad, i) => g.output(grad, `grad/${model.layout.tensors[i]!.name}`));
    const session = await ort.InferenceSession.create(
      encodeModel({
        name: "t",
        nodes: g.nodes,
        inputs: g.inputs,
        outputs: g.outputs,
        initializers: g.initializers,
      }),
      { intraOpNumThreads: 1 },
    );
    const rng = new Rng(5);
    // Larger than the 0.02 init so every path (attention, MLP) carries a visible gradient.
    const values = mapFloat32({ length: model.layout.size }, () => rng.normal() * 0.5);
    const ids = Float32Array.from([0, 3, 3, 6, 2, 1, 5, 4, 6, 6, 0, 1]);
    const labels = [2, 5, 3];
    const oneHot = new Float32Array(3 * 7);
    labels.forEach((l, i) => (oneHot[i * 7 + l] = 1));
    const feeds = () => ({
      x: new ort.Tensor("float32", ids, [3, 4]),
      y: new ort.Tensor("float32", oneHot, [3, 7]),
      ...Object.fromEntries(
        model.layout.tensors.map((t) => [
          `p/${t.name}`,
          new ort.Tensor("float32", values.subarray(t.offset, t.offset + t.size), [...t.shape]),
        ]),
      ),
    });
    try {
      const base = await session.run(feeds());
      const eps = 1e-2;
      for (const slot of model.layout.tensors) {
        const analytic = base[`grad/${slot.name}`]!.data as Float32Array;
        for (const j of [0, Math.floor(slot.size / 2), slot.size - 1]) {
          const at = slot.offset + j;
          const original = values[at]!;
          values[at] = original + eps;
          const plus = ((await session.run(feeds()))["loss"]!.data as Float32Array)[0]!;
          values[at] = original - eps;
          const minus = ((await session.run(feeds()))["loss"]!.data as Float32Array)[0]!;
          values[at] = original;
          const numeric = (plus - minus) / (2 * eps);
          assert.ok(
            Math.abs(numeric - analytic[j]!) <= 2e-2 * Math.max(0.1, Math.abs(numeric)),
            `${slot.name}[${j}]: analytic ${analytic[j]} vs numeric ${numeric}`,
          );
        }
      }
    } finally {
      await session.release();
    }
  });

  it("learns a character pattern in the worker pool", async () => {
    // Each text is a random 3-letter word repeated: after its first occurrence every character is
    // predictable from context, so next-character accuracy must go far above chance.
    const rng = new Rng(9);
    const letters = "abcdefgh";
    const texts = Array.from({ length: 400 }, () => {
      const word = Array.from({ length: 3 }, () => letters[Math.floor(rng.next() * letters.length)]).join("");
      return `${word} `.repeat(6);
    });
    const spec = { kind: "transformer", context: 16, width: 32, heads: 2, layers: 1 } as const; // 1 layer learns this in 12 epochs; 2 need ~30
    const train = textWindows([{ group: 0, texts: texts.slice(0, 320) }], 16);
    const test = textWindows([{ group: 1, texts: texts.slice(320) }], 16);
    assert.equal(train.featureSize, 16);
    const pool = new TrainingPool({ size: 1 });
    try {
      const init = createModel(spec).init(1);
      const before = await pool.evaluate(spec, init, test);
      const trained = await pool.train({
        model: spec,
        optimizer: { kind: "adam" },
        params: init,
        data: train,
        options: { epochs: 12, batchSize: 16, learningRate: 0.003 },
      });
      const after = await pool.evaluate(spec, trained.params, test);
      assert.ok(before.accuracy < 0.3, `untrained accuracy ${before.accuracy}`);
      assert.ok(after.accuracy > 0.6, `trained accuracy ${after.accuracy} (loss ${after.loss})`);
      assert.ok(after.loss < before.loss);
    } finally {
      await pool.close();
    }
  });

  it("validates its spec and encodes text", () => {
    assert.throws(
      () => modelSpecSchema.parse({ kind: "transformer", width: 30, heads: 4 }),
      /multiple of heads/,
    );
    assert.throws(() => modelSpecSchema.parse({ kind: "transformer", vocab: 300 }));
    const spec = modelSpecSchema.parse({ kind: "transformer" });
    assert.equal(createModel(spec).inputSize, 64);
    assert.equal(ALPHABET_SIZE, TRANSFORMER_VOCAB);
    assert.equal(decodeIds(encodeText("A cat, 3 dogs.")), "a cat, 3 dogs.");
    const rows = textWindows(
      [
        { group: 4, texts: ["abcdefgh", "ijkl"] },
        { group: 9, texts: ["mnopqrstuvwx"] },
      ],
      4,
    );
    assert.deepEqual([...rows.groups!], [4, 4, 4, 9, 9, 9]);
    const parts = partitionIndices(rows, 2, { kind: "group" });
    assert.deepEqual(parts.map((p) => p.length).sort(), [3, 3]);
  });
});
