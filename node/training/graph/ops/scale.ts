/** Multiplication by a constant (attention's 1/√d); its gradient is the same scaling. */
import type { GraphBuilder, Tensor } from "../autodiff.ts";

/** `x · factor` for a constant `factor`. */
export function scale(g: GraphBuilder, x: Tensor, factor: number): Tensor {
  const c = g.constant([factor], []);
  return g.op("Mul", [x, c], x.shape, {}, (grad) => [g.raw("Mul", [grad, c], x.shape), undefined], [x, c]);
}
