/**
 * Softmax over the last axis, for imported ONNX graphs that mask attention scores themselves (an `Add` of a
 * constant before a plain `Softmax`, as vAIn's own export and most exporters write it). Gradient:
 * dx = y ⊙ (g − Σ_j g_j y_j), as in causalSoftmax.
 */
import type { GraphBuilder, Tensor } from "../autodiff.ts";

/** Softmax of `x` over its last axis. */
export function softmax(g: GraphBuilder, x: Tensor): Tensor {
  const s = x.shape;
  const y: Tensor = g.op("Softmax", [x], s, { axis: -1 }, (grad) => {
    const keep = [...s.slice(0, -1), 1];
    const dot = g.raw("ReduceSum", [g.raw("Mul", [grad, y], s), g.constantInt64([-1])], keep, {
      keepdims: 1,
    });
    return [g.raw("Mul", [y, g.raw("Sub", [grad, dot], s)], s)];
  });
  return y;
}
