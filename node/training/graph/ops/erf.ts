/**
 * The error function, for imported graphs that spell GELU out as x·½(1 + erf(x/√2)) (ONNX opset 17 has no
 * Gelu op, so exporters write it this way). Gradient: 2/√π · exp(−x²).
 */
import type { GraphBuilder, Tensor } from "../autodiff.ts";

/** erf(x), elementwise. */
export function erf(g: GraphBuilder, x: Tensor): Tensor {
  const s = x.shape;
  return g.op("Erf", [x], s, {}, (grad) => {
    const density = g.raw("Exp", [g.raw("Neg", [g.raw("Mul", [x, x], s)], s)], s);
    return [g.raw("Mul", [grad, g.raw("Mul", [g.constant([2 / Math.sqrt(Math.PI)], []), density], s)], s)];
  });
}
