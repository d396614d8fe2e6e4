/** Axis permutation (splitting attention heads); its gradient is the inverse permutation. */
import { GraphBuildError } from "../autodiff.ts";
import type { GraphBuilder, Tensor } from "../autodiff.ts";

/** `x` with its axes permuted: output axis i is input axis `perm[i]`. */
export function transpose(g: GraphBuilder, x: Tensor, perm: readonly number[]): Tensor {
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== x.shape.length || sorted.some((p, i) => p !== i)) {
    throw new GraphBuildError(`transpose perm [${perm}] does not permute [${x.shape}]`);
  }
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return g.op(
    "Transpose",
    [x],
    perm.map((p) => x.shape[p]!),
    { perm: [...perm] },
    (grad) => [g.raw("Transpose", [grad], x.shape, { perm: inverse })],
  );
}
