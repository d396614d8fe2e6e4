/**
 * Gradient checks of the transformer ops: each op's backward graph against central finite differences of
 * its forward graph, both run by onnxruntime. A non-scalar output is reduced with fixed random weights
 * (a plain sum would hide errors: softmax rows always sum to one).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import * as ort from "onnxruntime-node";

import { Rng } from "../../../core/rng.ts";
import { GraphBuildError, GraphBuilder } from "../autodiff.ts";
import type { Tensor } from "../autodiff.ts";
import { encodeModel } from "../onnx.ts";
import {
  batchedMatmul,
  causalSoftmax,
  embedding,
  erf,
  gelu,
  layerNorm,
  scale,
  select,
  softmax,
  transpose,
  vocabCrossEntropy,
} from "./index.ts";
import { mapFloat32 } from "../../../core/vectors.ts";

interface Case {
  readonly name: string;
  readonly inputs: readonly (readonly number[])[];
  readonly build: (g: GraphBuilder, t: readonly Tensor[]) => Tensor;
}

const CASES: Case[] = [
  { name: "transpose", inputs: [[2, 3, 4]], build: (g, [a]) => transpose(g, a!, [2, 0, 1]) },
  { name: "scale", inputs: [[2, 3]], build: (g, [a]) => scale(g, a!, 0.37) },
  {
    name: "batchedMatmul rank 3",
    inputs: [
      [2, 3, 4],
      [2, 4, 2],
    ],
    build: (g, [a, b]) => batchedMatmul(g, a!, b!),
  },
  {
    name: "batchedMatmul rank 4 (heads)",
    inputs: [
      [2, 2, 3, 2],
      [2, 2, 2, 3],
    ],
    build: (g, [a, b]) => batchedMatmul(g, a!, b!),
  },
  { name: "causalSoftmax", inputs: [[2, 4, 4]], build: (g, [a]) => causalSoftmax(g, a!) },
  { name: "gelu", inputs: [[3, 5]], build: (g, [a]) => gelu(g, a!) },
  // The ops an imported ONNX graph spells the same blocks with (onnx-import.ts).
  { name: "softmax (last axis)", inputs: [[2, 3, 4]], build: (g, [a]) => softmax(g, a!) },
  { name: "erf", inputs: [[3, 5]], build: (g, [a]) => erf(g, a!) },
  { name: "select (last position)", inputs: [[2, 4, 3]], build: (g, [a]) => select(g, a!, 1, -1) },
  {
    name: "layerNorm",
    inputs: [[2, 3, 5], [5], [5]],
    build: (g, [x, gamma, beta]) => layerNorm(g, x!, gamma!, beta!),
  },
  {
    name: "embedding (repeated ids scatter-add)",
    inputs: [[5, 3]],
    build: (g, [table]) => embedding(g, table!, g.constantInt64([0, 3, 3, 1, 4, 3, 0, 2], [2, 4])),
  },
  {
    name: "vocabCrossEntropy",
    inputs: [[4, 6]],
    build: (g, [logits]) => vocabCrossEntropy(g, logits!, g.constantInt64([5, 0, 2, 2])),
  },
  {
    name: "add (position table over a batch)",
    inputs: [
      [2, 3, 4],
      [3, 4],
    ],
    build: (g, [a, b]) => g.add(a!, b!),
  },
];

const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);

describe("transformer ops: gradients match finite differences", () => {
  for (const testCase of CASES) {
    it(testCase.name, async () => {
      const rng = new Rng(11);
      const values = testCase.inputs.map((s) => mapFloat32({ length: size(s) }, () => rng.normal()));
      const g = new GraphBuilder();
      const tensors = testCase.inputs.map((s, i) => g.input(`in${i}`, s, true));
      const y = testCase.build(g, tensors);
      const loss =
        y.shape.length === 0
          ? y
          : g.sum(
              g.mul(
                y,
                g.constant(
                  mapFloat32({ length: size(y.shape) }, () => rng.normal()),
                  y.shape,
                ),
              ),
            );
      g.output(loss, "loss");
      g.gradients(loss, tensors).forEach((grad, i) => g.output(grad, `grad${i}`));
      const bytes = encodeModel({
        name: "check",
        nodes: g.nodes,
        inputs: g.inputs,
        outputs: g.outputs,
        initializers: g.initializers,
      });
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
      try {
        const run = async () =>
          session.run(
            Object.fromEntries(
              values.map((v, i) => [`in${i}`, new ort.Tensor("float32", v, testCase.inputs[i] as number[])]),
            ),
          );
        const base = await run();
        const eps = 1e-2;
        for (const [i, v] of values.entries()) {
          const analytic = base[`grad${i}`]!.data as Float32Array;
          for (let j = 0; j < v.length; j++) {
            const original = v[j]!;
            v[j] = original + eps;
            const plus = ((await run())["loss"]!.data as Float32Array)[0]!;
            v[j] = original - eps;
            const minus = ((await run())["loss"]!.data as Float32Array)[0]!;
            v[j] = original;
            const numeric = (plus - minus) / (2 * eps);
            assert.ok(
              Math.abs(numeric - analytic[j]!) <= 2e-2 * Math.max(1, Math.abs(numeric)),
              `${testCase.name}: d/d in${i}[${j}] analytic ${analytic[j]} vs numeric ${numeric}`,
            );
          }
        }
      } finally {
        await session.release();
      }
    });
  }

  it("rejects shapes that do not fit", () => {
    const g = new GraphBuilder();
    const a = g.input("a", [2, 3, 4], true);
    assert.throws(() => batchedMatmul(g, a, g.input("b", [2, 3, 4], true)), GraphBuildError);
    assert.throws(() => causalSoftmax(g, a), GraphBuildError);
    assert.throws(() => transpose(g, a, [0, 0, 1]), GraphBuildError);
    assert.throws(() => layerNorm(g, a, g.input("c", [3]), g.input("d", [4])), GraphBuildError);
    assert.throws(() => embedding(g, g.input("e", [5, 3], true), a), GraphBuildError);
    assert.throws(() => g.add(a, g.input("f", [2, 4])), GraphBuildError);
  });
});
