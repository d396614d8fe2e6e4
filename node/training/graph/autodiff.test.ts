/**
 * Gradient checks: for every op the builder differentiates, the backward graph's gradient is compared
 * with central finite differences of the forward graph, both run by onnxruntime.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import * as ort from "onnxruntime-node";

import { Rng } from "../../core/rng.ts";
import { GraphBuildError, GraphBuilder } from "./autodiff.ts";
import type { Tensor } from "./autodiff.ts";
import { encodeModel } from "./onnx.ts";
import { mapFloat32 } from "../../core/vectors.ts";

type OpUnderTest = (g: GraphBuilder, a: Tensor, b: Tensor) => Tensor;

interface Case {
  readonly name: string;
  readonly aShape: number[];
  readonly bShape: number[];
  readonly op: OpUnderTest;
  /** Keep inputs away from kinks (ReLU at 0, ties in max). */
  readonly spread?: number;
}

const CASES: Case[] = [
  { name: "matmul", aShape: [3, 4], bShape: [4, 2], op: (g, a, b) => g.matmul(a, b) },
  { name: "add (broadcast bias)", aShape: [3, 4], bShape: [4], op: (g, a, b) => g.add(a, b) },
  { name: "add", aShape: [2, 3], bShape: [2, 3], op: (g, a, b) => g.add(a, b) },
  { name: "sub", aShape: [2, 3], bShape: [2, 3], op: (g, a, b) => g.sub(a, b) },
  { name: "mul", aShape: [2, 3], bShape: [2, 3], op: (g, a, b) => g.mul(a, b) },
  { name: "relu", aShape: [3, 4], bShape: [3, 4], op: (g, a, b) => g.mul(g.relu(a), b) },
  { name: "tanh", aShape: [3, 4], bShape: [3, 4], op: (g, a, b) => g.mul(g.tanh(a), b) },
  { name: "reshape", aShape: [2, 6], bShape: [3, 4], op: (g, a, b) => g.mul(g.reshape(a, [3, 4]), b) },
  {
    name: "reduceMax (2x2 pooling)",
    aShape: [1, 2, 2, 2, 2, 1],
    bShape: [1, 2, 1, 2, 1, 1],
    op: (g, a, b) => g.mul(g.reduceMax(a, [2, 4]), b),
    spread: 3,
  },
  {
    name: "softmaxCrossEntropy",
    aShape: [3, 4],
    bShape: [3, 4],
    op: (g, a, b) => g.softmaxCrossEntropy(a, b),
  },
];

async function run(bytes: Uint8Array, feeds: Record<string, Float32Array>, shapes: Record<string, number[]>) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const tensors = Object.fromEntries(
    Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor("float32", v, shapes[k])]),
  );
  const out = await session.run(tensors);
  await session.release();
  return out;
}

describe("autodiff gradients match finite differences", () => {
  for (const testCase of CASES) {
    it(testCase.name, async () => {
      const rng = new Rng(7);
      const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
      const a = mapFloat32({ length: size(testCase.aShape) }, (_, i) =>
        testCase.spread === undefined
          ? rng.normal()
          : i * testCase.spread * (rng.next() > 0.5 ? 1 : -1) + rng.next(),
      );
      let b = mapFloat32({ length: size(testCase.bShape) }, () => rng.normal());
      if (testCase.name === "softmaxCrossEntropy") {
        b = new Float32Array(b.length);
        for (let r = 0; r < 3; r++) b[r * 4 + ((r * 3) % 4)] = 1; // one-hot targets
      }
      const g = new GraphBuilder();
      const ta = g.input("a", testCase.aShape, true);
      const tb = g.input("b", testCase.bShape, testCase.name !== "softmaxCrossEntropy");
      const y = testCase.op(g, ta, tb);
      const loss = y.shape.length === 0 ? y : g.sum(y);
      g.output(loss, "loss");
      const [ga, gb] = g.gradients(loss, [ta, tb]);
      g.output(ga!, "grad_a");
      g.output(gb!, "grad_b");
      const bytes = encodeModel({
        name: "check",
        nodes: g.nodes,
        inputs: g.inputs,
        outputs: g.outputs,
        initializers: g.initializers,
      });
      const shapes = { a: testCase.aShape, b: testCase.bShape };
      const base = await run(bytes, { a, b }, shapes);
      const analytic = { a: base["grad_a"]!.data as Float32Array, b: base["grad_b"]!.data as Float32Array };
      const eps = 1e-2;
      for (const which of ["a", "b"] as const) {
        if (which === "b" && testCase.name === "softmaxCrossEntropy") continue;
        const values = which === "a" ? a : b;
        for (let i = 0; i < values.length; i++) {
          const original = values[i]!;
          values[i] = original + eps;
          const plus = ((await run(bytes, { a, b }, shapes))["loss"]!.data as Float32Array)[0]!;
          values[i] = original - eps;
          const minus = ((await run(bytes, { a, b }, shapes))["loss"]!.data as Float32Array)[0]!;
          values[i] = original;
          const numeric = (plus - minus) / (2 * eps);
          const got = analytic[which][i]!;
          assert.ok(
            Math.abs(numeric - got) <= 2e-2 * Math.max(1, Math.abs(numeric)),
            `${testCase.name}: d/d${which}[${i}] analytic ${got} vs numeric ${numeric}`,
          );
        }
      }
    });
  }

  it("rejects shapes that do not fit", () => {
    const g = new GraphBuilder();
    const a = g.input("a", [2, 3], true);
    assert.throws(() => g.matmul(a, g.input("b", [2, 3], true)), GraphBuildError);
    assert.throws(() => g.add(a, g.input("c", [2])), GraphBuildError);
    assert.throws(() => g.gatherColumns(a, [0]), GraphBuildError);
  });
});
