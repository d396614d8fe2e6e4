/**
 * Softmax over the last axis with a causal mask: position i of a [..., T, T] score tensor sees keys 0..i
 * only. The mask is a constant added before the softmax (−1e9, not −∞: exp underflows to an exact 0 and no
 * NaN can appear). Gradient: dx = y ⊙ (g − Σ_j g_j y_j).
 */
import { GraphBuildError } from "../autodiff.ts";
import type { GraphBuilder, Tensor } from "../autodiff.ts";

/** A large negative logit for masked positions: exp(−1e9 − max) is exactly 0 in float32. */
const MASKED_LOGIT = -1e9;

/** Causal softmax of attention scores [..., T, T]. */
export function causalSoftmax(g: GraphBuilder, scores: Tensor): Tensor {
  const rank = scores.shape.length;
  const t = scores.shape[rank - 1]!;
  if (rank < 2 || scores.shape[rank - 2] !== t) {
    throw new GraphBuildError(`causalSoftmax needs square trailing axes, got [${scores.shape}]`);
  }
  const mask = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) mask[i * t + j] = MASKED_LOGIT;
  const masked = g.raw("Add", [scores, g.constant(mask, [t, t])], scores.shape);
  const y: Tensor = g.op(
    "Softmax",
    [masked],
    scores.shape,
    { axis: -1 },
    (grad) => {
      const keep = [...scores.shape.slice(0, -1), 1];
      const dot = g.raw("ReduceSum", [g.raw("Mul", [grad, y], scores.shape), g.constantInt64([-1])], keep, {
        keepdims: 1,
      });
      return [g.raw("Mul", [y, g.raw("Sub", [grad, dot], scores.shape)], scores.shape)];
    },
    [scores],
  );
  return y;
}
