/**
 * GELU, exact form x·Φ(x) = ½x(1 + erf(x/√2)) (opset 17 has Erf but no Gelu op).
 * Gradient: Φ(x) + x·φ(x), with φ the standard normal density.
 */
import type { GraphBuilder, Tensor } from "../autodiff.ts";

/** Gaussian error linear unit. */
export function gelu(g: GraphBuilder, x: Tensor): Tensor {
  const s = x.shape;
  const c = (v: number) => g.constant([v], []);
  const cdf = g.raw(
    "Mul",
    [c(0.5), g.raw("Add", [c(1), g.raw("Erf", [g.raw("Mul", [x, c(Math.SQRT1_2)], s)], s)], s)],
    s,
  );
  return g.op(
    "Mul",
    [x, cdf],
    s,
    {},
    (grad) => {
      // φ(x) = exp(−x²/2)/√(2π)
      const density = g.raw(
        "Mul",
        [
          c(1 / Math.sqrt(2 * Math.PI)),
          g.raw("Exp", [g.raw("Mul", [c(-0.5), g.raw("Mul", [x, x], s)], s)], s),
        ],
        s,
      );
      const slope = g.raw("Add", [cdf, g.raw("Mul", [x, density], s)], s);
      return [g.raw("Mul", [grad, slope], s)];
    },
    [x],
  );
}
