/**
 * Layer normalisation over the last axis (ONNX LayerNormalization, opset 17) with its hand-derived
 * backward pass. With x̂ = (x − μ)/σ and gx = g ⊙ γ:
 *   dγ = Σ_rows g ⊙ x̂,  dβ = Σ_rows g,  dx = (gx − mean(gx) − x̂ ⊙ mean(gx ⊙ x̂)) / σ.
 */
import { GraphBuildError } from "../autodiff.ts";
import type { GraphBuilder, Tensor } from "../autodiff.ts";

/** Variance floor: PyTorch's and ONNX's default, keeps 1/σ finite on constant rows. */
export const LAYER_NORM_EPSILON = 1e-5;

/** γ ⊙ (x − μ)/σ + β over the last axis of `x`; γ and β have the last axis's size. */
export function layerNorm(g: GraphBuilder, x: Tensor, gamma: Tensor, beta: Tensor): Tensor {
  const c = x.shape[x.shape.length - 1]!;
  if (gamma.shape.length !== 1 || gamma.shape[0] !== c || beta.shape.length !== 1 || beta.shape[0] !== c) {
    throw new GraphBuildError(`layerNorm of [${x.shape}] needs γ and β of [${c}]`);
  }
  const s = x.shape;
  const keep = [...s.slice(0, -1), 1];
  return g.op("LayerNormalization", [x, gamma, beta], s, { axis: -1 }, (grad) => {
    const mean = (t: Tensor) => g.raw("ReduceMean", [t], keep, { axes: [-1], keepdims: 1 });
    const xc = g.raw("Sub", [x, mean(x)], s);
    const variance = mean(g.raw("Mul", [xc, xc], s));
    const eps = g.constant([LAYER_NORM_EPSILON], []);
    const inv = g.raw("Reciprocal", [g.raw("Sqrt", [g.raw("Add", [variance, eps], keep)], keep)], keep);
    const xhat = g.raw("Mul", [xc, inv], s);
    const gx = g.raw("Mul", [grad, gamma], s);
    const centred = g.raw("Sub", [gx, mean(gx)], s);
    const dx = g.raw(
      "Mul",
      [inv, g.raw("Sub", [centred, g.raw("Mul", [xhat, mean(g.raw("Mul", [gx, xhat], s))], s)], s)],
      s,
    );
    const leading = g.constantInt64(s.slice(0, -1).map((_, i) => i));
    const rowSum = (t: Tensor) => g.raw("ReduceSum", [t, leading], [c], { keepdims: 0 });
    return [
      x.requiresGrad ? dx : undefined,
      gamma.requiresGrad ? rowSum(g.raw("Mul", [grad, xhat], s)) : undefined,
      beta.requiresGrad ? rowSum(grad) : undefined,
    ];
  });
}
