/**
 * Model definitions: each model is a parameter layout, an initialiser and a forward pass written with the
 * autodiff builder. Adding a model is adding one entry here.
 */
import type { Hex } from "viem";
import { z } from "zod";

import { createLayout } from "../core/params.ts";
import type { ParamLayout } from "../core/params.ts";
import type { GraphBuilder, Tensor } from "./graph/autodiff.ts";
import { Rng } from "../core/rng.ts";
import { ONNX_GRAPH_MAX_BASE64 } from "./constants.ts";
import { importOnnx } from "./onnx-import.ts";
import {
  transformerForward,
  transformerInit,
  transformerLayout,
  transformerLoss,
  transformerSpecSchema,
} from "./transformer.ts";

export const modelSpecSchema = z
  .discriminatedUnion("kind", [
    z.object({
      kind: z.literal("mlp"),
      inputSize: z.number().int().positive().default(784),
      hidden: z.array(z.number().int().positive()).default([128]),
      classes: z.number().int().min(2).default(10),
    }),
    z.object({
      kind: z.literal("cnn"),
      /** Square input side (28 for MNIST); one input channel. */
      side: z.number().int().min(6).default(28),
      kernel: z.number().int().min(2).default(5),
      channels: z.number().int().positive().default(8),
      classes: z.number().int().min(2).default(10),
    }),
    transformerSpecSchema,
    z.object({
      kind: z.literal("onnx"),
      /**
       * The embedded form of earlier versions (graph and weights in one base64 string) is refused; first, so a
       * config error names it rather than the missing graph.
       */
      model: z.undefined({ errorMap: () => ({ message: EMBEDDED_ONNX_REFUSED }) }).optional(),
      /**
       * A user's ONNX classifier without its weights, base64 (`splitOnnxWeights`: the float initializers keep
       * names, types and dims, which make the layout). Ops: onnx-import.ts.
       */
      graph: z
        .string()
        .max(ONNX_GRAPH_MAX_BASE64)
        .regex(/^[A-Za-z0-9+/]*={0,2}$/),
      /**
       * The initial weights by content: the modelRef (sha256 of the float32 little-endian parameter vector) of
       * the task's initial model, fetched from peers and checked like any model. The spec hash binds it, so the
       * weights are bound too.
       */
      initialRef: z.string().regex(/^0x[0-9a-f]{64}$/, "initialRef is 0x and 64 lowercase hex digits"),
    }),
  ])
  .superRefine((spec, ctx) => {
    if (spec.kind === "transformer" && spec.width % spec.heads !== 0) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["width"],
        message: `width ${spec.width} is not a multiple of heads ${spec.heads}`,
      });
    }
  });

/** Why an embedded ONNX spec (`model`: graph and weights in base64) no longer loads, and what to do. */
export const EMBEDDED_ONNX_REFUSED =
  "an ONNX spec with embedded weights (model) is no longer read: run `vain-node model import --onnx <file>` " +
  "again, which writes the graph and the weights' content hash (graph, initialRef)";

/** The model's initial weights are a blob named by their content hash (an imported ONNX model), not a seed. */
export class InitialModelByRefError extends Error {
  override readonly name = "InitialModelByRefError";
  readonly code = "INITIAL_MODEL_BY_REF";
  readonly ref: Hex;
  constructor(ref: Hex) {
    super(`the initial model is fetched by its content hash ${ref}, not drawn from a seed`);
    this.ref = ref;
  }
}

export type ModelSpec = z.input<typeof modelSpecSchema>;
export type ResolvedModelSpec = z.output<typeof modelSpecSchema>;

/** A model: its layout, how to initialise it and its forward pass. */
export interface Model {
  readonly spec: ResolvedModelSpec;
  readonly layout: ParamLayout;
  readonly inputSize: number;
  readonly classes: number;
  /**
   * The initial model's content hash when its weights come as a blob (an imported ONNX model): `init` then
   * throws `InitialModelByRefError` and a node fetches the weights by this ref like any model.
   */
  readonly initialRef?: Hex;
  /** He-initialised parameters, reproducible from `seed`. */
  init(seed: number): Float32Array;
  /** Logits [N, classes] from inputs x [N, inputSize] and named parameters. */
  forward(g: GraphBuilder, x: Tensor, params: ReadonlyMap<string, Tensor>): Tensor;
  /**
   * The training loss (scalar) when it is not softmax cross-entropy of `forward` against the one-hot `y`
   * (the transformer predicts at every position, not only the last).
   */
  loss?(g: GraphBuilder, x: Tensor, y: Tensor, params: ReadonlyMap<string, Tensor>): Tensor;
}

function param(params: ReadonlyMap<string, Tensor>, name: string): Tensor {
  const t = params.get(name);
  if (t === undefined) throw new Error(`missing parameter ${name}`);
  return t;
}

function heInit(
  layout: ParamLayout,
  seed: number,
  fanIn: (name: string, shape: readonly number[]) => number,
): Float32Array {
  const rng = new Rng(seed);
  const values = new Float32Array(layout.size);
  for (const slot of layout.tensors) {
    if (slot.name.endsWith(".b")) continue; // biases start at zero
    const std = Math.sqrt(2 / fanIn(slot.name, slot.shape));
    for (let i = 0; i < slot.size; i++) values[slot.offset + i] = rng.normal() * std;
  }
  return values;
}

function mlp(spec: Extract<ResolvedModelSpec, { kind: "mlp" }>): Model {
  const sizes = [spec.inputSize, ...spec.hidden, spec.classes];
  const tensors = sizes.slice(1).flatMap((out, i) => [
    { name: `fc${i}.w`, shape: [sizes[i]!, out] },
    { name: `fc${i}.b`, shape: [out] },
  ]);
  const layout = createLayout(tensors);
  return {
    spec,
    layout,
    inputSize: spec.inputSize,
    classes: spec.classes,
    init: (seed) => heInit(layout, seed, (_, shape) => shape[0]!),
    forward(g, x, params) {
      let h = x;
      for (let i = 0; i < sizes.length - 1; i++) {
        h = g.add(g.matmul(h, param(params, `fc${i}.w`)), param(params, `fc${i}.b`));
        if (i < sizes.length - 2) h = g.relu(h);
      }
      return h;
    },
  };
}

/** im2col column indices of a valid k×k convolution over a side×side single-channel image. */
export function im2colIndices(side: number, k: number): number[] {
  const out = side - k + 1;
  const indices: number[] = [];
  for (let r = 0; r < out; r++) {
    for (let c = 0; c < out; c++) {
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) indices.push((r + i) * side + (c + j));
    }
  }
  return indices;
}

function cnn(spec: Extract<ResolvedModelSpec, { kind: "cnn" }>): Model {
  const convOut = spec.side - spec.kernel + 1;
  if (convOut % 2 !== 0) throw new Error(`cnn: side - kernel + 1 = ${convOut} must be even for 2x2 pooling`);
  const pooled = convOut / 2;
  const taps = spec.kernel * spec.kernel;
  const flat = pooled * pooled * spec.channels;
  const layout = createLayout([
    { name: "conv.w", shape: [taps, spec.channels] },
    { name: "conv.b", shape: [spec.channels] },
    { name: "fc.w", shape: [flat, spec.classes] },
    { name: "fc.b", shape: [spec.classes] },
  ]);
  const indices = im2colIndices(spec.side, spec.kernel);
  return {
    spec,
    layout,
    inputSize: spec.side * spec.side,
    classes: spec.classes,
    init: (seed) => heInit(layout, seed, (name, shape) => (name === "conv.w" ? taps : shape[0]!)),
    forward(g, x, params) {
      // Convolution as im2col (constant Gather) + MatMul, so its gradient is the MatMul's.
      const patches = g.reshape(g.gatherColumns(x, indices), [-1, taps]);
      const conv = g.relu(g.add(g.matmul(patches, param(params, "conv.w")), param(params, "conv.b")));
      // 2x2 max pooling over (row, col) pairs laid out as [N, R, 2, C, 2, channels].
      const grid = g.reshape(conv, [-1, pooled, 2, pooled, 2, spec.channels]);
      const pool = g.reshape(g.reduceMax(grid, [2, 4]), [-1, flat]);
      return g.add(g.matmul(pool, param(params, "fc.w")), param(params, "fc.b"));
    },
  };
}

function transformer(spec: Extract<ResolvedModelSpec, { kind: "transformer" }>): Model {
  const layout = transformerLayout(spec);
  return {
    spec,
    layout,
    inputSize: spec.context,
    classes: spec.vocab,
    init: (seed) => transformerInit(spec, layout, seed),
    forward: (g, x, params) => transformerForward(g, spec, x, params),
    loss: (g, x, y, params) => transformerLoss(g, spec, x, y, params),
  };
}

function onnxModel(spec: Extract<ResolvedModelSpec, { kind: "onnx" }>): Model {
  const imported = importOnnx(Buffer.from(spec.graph, "base64"));
  const initialRef = spec.initialRef as Hex;
  return {
    spec,
    layout: imported.layout,
    inputSize: imported.inputSize,
    classes: imported.classes,
    initialRef,
    // The user's weights are the initial model, fetched by initialRef; the seed has nothing to draw.
    init: () => {
      throw new InitialModelByRefError(initialRef);
    },
    forward: imported.forward,
  };
}

/** Creates a model from its (validated) spec. */
export function createModel(spec: ModelSpec): Model {
  const resolved = modelSpecSchema.parse(spec);
  if (resolved.kind === "transformer") return transformer(resolved);
  if (resolved.kind === "onnx") return onnxModel(resolved);
  return resolved.kind === "mlp" ? mlp(resolved) : cnn(resolved);
}
