/**
 * A small decoder-only (GPT-style, pre-LayerNorm) character transformer written with the autodiff builder.
 *
 * Data contract (so the engine, pool and evaluation stay the MNIST ones): a row's features are `context`
 * token ids (as floats) and its label is the token that follows. Training predicts the next token at every
 * position — targets are the row's ids shifted left with the label appended — so one row of T tokens gives
 * T predictions. Inference (`forward`) returns the logits of the last position only: accuracy is
 * next-character accuracy given a full context.
 */
import { z } from "zod";

import { createLayout } from "../core/params.ts";
import type { ParamLayout } from "../core/params.ts";
import { Rng } from "../core/rng.ts";
import { GraphBuildError } from "./graph/autodiff.ts";
import type { GraphBuilder, Tensor } from "./graph/autodiff.ts";
import {
  batchedMatmul,
  causalSoftmax,
  embedding,
  gelu,
  layerNorm,
  scale,
  transpose,
  vocabCrossEntropy,
} from "./graph/ops/index.ts";
import {
  TRANSFORMER_CONTEXT,
  TRANSFORMER_HEADS,
  TRANSFORMER_INIT_STD,
  TRANSFORMER_LAYERS,
  TRANSFORMER_MLP_RATIO,
  TRANSFORMER_VOCAB,
  TRANSFORMER_WIDTH,
} from "./constants.ts";

/** Validated with `modelSpecSchema`, which also checks that `width` is a multiple of `heads`. */
export const transformerSpecSchema = z.object({
  kind: z.literal("transformer"),
  /** Token ids are < vocab; at most 256 (labels are bytes). */
  vocab: z.number().int().min(2).max(256).default(TRANSFORMER_VOCAB),
  /** Context length T: tokens per row. */
  context: z.number().int().min(2).max(1024).default(TRANSFORMER_CONTEXT),
  /** Model width C (embedding size); a multiple of `heads`. */
  width: z.number().int().min(2).default(TRANSFORMER_WIDTH),
  layers: z.number().int().min(1).max(48).default(TRANSFORMER_LAYERS),
  heads: z.number().int().min(1).default(TRANSFORMER_HEADS),
  /** Hidden width of each MLP block as a multiple of `width`. */
  mlpRatio: z.number().int().min(1).max(8).default(TRANSFORMER_MLP_RATIO),
});

export type TransformerSpec = z.output<typeof transformerSpecSchema>;

/** The parameter tensors, in vector order. */
export function transformerLayout(spec: TransformerSpec): ParamLayout {
  const { vocab: v, context: t, width: c, mlpRatio } = spec;
  const hidden = c * mlpRatio;
  const tensors: { name: string; shape: number[] }[] = [
    { name: "tok.emb", shape: [v, c] },
    { name: "pos.emb", shape: [t, c] },
  ];
  for (let l = 0; l < spec.layers; l++) {
    const p = `h${l}`;
    tensors.push(
      { name: `${p}.ln1.g`, shape: [c] },
      { name: `${p}.ln1.b`, shape: [c] },
      { name: `${p}.q.w`, shape: [c, c] },
      { name: `${p}.q.b`, shape: [c] },
      { name: `${p}.k.w`, shape: [c, c] },
      { name: `${p}.k.b`, shape: [c] },
      { name: `${p}.v.w`, shape: [c, c] },
      { name: `${p}.v.b`, shape: [c] },
      { name: `${p}.proj.w`, shape: [c, c] },
      { name: `${p}.proj.b`, shape: [c] },
      { name: `${p}.ln2.g`, shape: [c] },
      { name: `${p}.ln2.b`, shape: [c] },
      { name: `${p}.fc.w`, shape: [c, hidden] },
      { name: `${p}.fc.b`, shape: [hidden] },
      { name: `${p}.out.w`, shape: [hidden, c] },
      { name: `${p}.out.b`, shape: [c] },
    );
  }
  tensors.push(
    { name: "lnf.g", shape: [c] },
    { name: "lnf.b", shape: [c] },
    { name: "head.w", shape: [c, v] },
    { name: "head.b", shape: [v] },
  );
  return createLayout(tensors);
}

/**
 * GPT-2's initialisation: N(0, 0.02²) weights, zero biases, unit LayerNorm gains, and the projections that
 * write into the residual stream scaled by 1/√(2·layers) so its variance does not grow with depth.
 */
export function transformerInit(spec: TransformerSpec, layout: ParamLayout, seed: number): Float32Array {
  const rng = new Rng(seed);
  const values = new Float32Array(layout.size);
  const residualStd = TRANSFORMER_INIT_STD / Math.sqrt(2 * spec.layers);
  for (const slot of layout.tensors) {
    if (slot.name.endsWith(".b")) continue;
    if (slot.name.endsWith(".g")) {
      values.fill(1, slot.offset, slot.offset + slot.size);
      continue;
    }
    const std = /\.(proj|out)\.w$/.test(slot.name) ? residualStd : TRANSFORMER_INIT_STD;
    for (let i = 0; i < slot.size; i++) values[slot.offset + i] = rng.normal() * std;
  }
  return values;
}

type Params = ReadonlyMap<string, Tensor>;

function param(params: Params, name: string): Tensor {
  const t = params.get(name);
  if (t === undefined) throw new GraphBuildError(`missing parameter ${name}`);
  return t;
}

/** Logits [N·T, V] at every position from token ids [N, T] (int64). */
function logitsAll(g: GraphBuilder, spec: TransformerSpec, ids: Tensor, params: Params): Tensor {
  const { context: t, width: c, heads } = spec;
  const d = c / heads;
  const p = (name: string) => param(params, name);
  const linear = (x2: Tensor, name: string) => g.add(g.matmul(x2, p(`${name}.w`)), p(`${name}.b`));
  let h = g.add(embedding(g, p("tok.emb"), ids), p("pos.emb")); // [N, T, C]
  for (let l = 0; l < spec.layers; l++) {
    const pre = `h${l}`;
    const a = g.reshape(layerNorm(g, h, p(`${pre}.ln1.g`), p(`${pre}.ln1.b`)), [-1, c]);
    const split = (x2: Tensor, perm: number[]) => transpose(g, g.reshape(x2, [-1, t, heads, d]), perm);
    const q = split(linear(a, `${pre}.q`), [0, 2, 1, 3]); // [N, H, T, D]
    const kT = split(linear(a, `${pre}.k`), [0, 2, 3, 1]); // [N, H, D, T]
    const v = split(linear(a, `${pre}.v`), [0, 2, 1, 3]); // [N, H, T, D]
    const attention = causalSoftmax(g, scale(g, batchedMatmul(g, q, kT), 1 / Math.sqrt(d)));
    const mixed = g.reshape(transpose(g, batchedMatmul(g, attention, v), [0, 2, 1, 3]), [-1, c]);
    h = g.add(h, g.reshape(linear(mixed, `${pre}.proj`), [-1, t, c]));
    const m = g.reshape(layerNorm(g, h, p(`${pre}.ln2.g`), p(`${pre}.ln2.b`)), [-1, c]);
    h = g.add(h, g.reshape(linear(gelu(g, linear(m, `${pre}.fc`)), `${pre}.out`), [-1, t, c]));
  }
  const final = g.reshape(layerNorm(g, h, p("lnf.g"), p("lnf.b")), [-1, c]);
  return linear(final, "head");
}

function tokenIds(g: GraphBuilder, spec: TransformerSpec, x: Tensor): Tensor {
  return g.raw("Cast", [x], [-1, spec.context], { to: 7 }); // 7 = INT64
}

/** Last-position logits [N, V] (inference: the next token after the row). Not differentiated. */
export function transformerForward(
  g: GraphBuilder,
  spec: TransformerSpec,
  x: Tensor,
  params: Params,
): Tensor {
  const all = g.reshape(logitsAll(g, spec, tokenIds(g, spec, x), params), [-1, spec.context, spec.vocab]);
  return g.raw("Gather", [all, g.constantInt64([spec.context - 1], [])], [-1, spec.vocab], { axis: 1 });
}

/**
 * Mean next-token cross-entropy over all N·T positions. `y` is the label one-hot [N, V]; the targets are
 * the ids shifted left by one with the label appended.
 */
export function transformerLoss(
  g: GraphBuilder,
  spec: TransformerSpec,
  x: Tensor,
  y: Tensor,
  params: Params,
): Tensor {
  const t = spec.context;
  const ids = tokenIds(g, spec, x);
  const label = g.raw("ArgMax", [y], [-1, 1], { axis: 1, keepdims: 1 });
  const shifted = g.raw(
    "Slice",
    [ids, g.constantInt64([1]), g.constantInt64([t]), g.constantInt64([1])],
    [-1, t - 1],
  );
  const targets = g.raw(
    "Reshape",
    [g.raw("Concat", [shifted, label], [-1, t], { axis: 1 }), g.constantInt64([-1])],
    [-1],
  );
  return vocabCrossEntropy(g, logitsAll(g, spec, ids, params), targets);
}

/**
 * Training FLOPs per token (forward + backward ≈ 3 × forward): 6 per weight used in a matrix product, plus
 * attention's score and mix products (2·T·C each forward, causal mask not exploited).
 */
export function transformerFlopsPerToken(spec: TransformerSpec): number {
  const { width: c, context: t, vocab: v, layers, mlpRatio } = spec;
  const matmulWeights = layers * (4 * c * c + 2 * c * c * mlpRatio) + c * v;
  const attention = layers * 2 * 2 * t * c;
  return 3 * (2 * matmulWeights + attention);
}
