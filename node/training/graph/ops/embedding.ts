/**
 * Embedding lookup: rows of a [V, C] table gathered by int64 token ids. Gradient: the output gradient's rows
 * scatter-added back into a zero [V, C] table (ScatterND with reduction "add", opset 16+), so a token seen
 * several times in a batch sums its gradients. The ids carry no gradient.
 */
import { GraphBuildError } from "../autodiff.ts";
import type { GraphBuilder, Tensor } from "../autodiff.ts";

/** `table[ids]`: ids of any shape (int64) → [...ids.shape, C]. */
export function embedding(g: GraphBuilder, table: Tensor, ids: Tensor): Tensor {
  if (table.shape.length !== 2)
    throw new GraphBuildError(`embedding table must be 2-D, got [${table.shape}]`);
  if (ids.requiresGrad) throw new GraphBuildError("embedding ids are integers and take no gradient");
  const [vocab, width] = table.shape as [number, number];
  return g.op("Gather", [table, ids], [...ids.shape, width], { axis: 0 }, (grad) => {
    const zeros = g.constant(new Float32Array(vocab * width), [vocab, width]);
    const index = g.raw("Reshape", [ids, g.constantInt64([-1, 1])], [-1, 1]);
    const rows = g.raw("Reshape", [grad, g.constantInt64([-1, width])], [-1, width]);
    return [g.raw("ScatterND", [zeros, index, rows], [vocab, width], { reduction: "add" }), undefined];
  });
}
