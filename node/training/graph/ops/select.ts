/**
 * One index of one axis (`Gather` with a scalar constant index), for imported graphs that take the last
 * position's hidden state (a language model's next-token logits). Gradient: the output gradient put back at
 * that index and zeros elsewhere (Unsqueeze, then Pad), which needs the axis's length to be known.
 */
import { GraphBuildError } from "../autodiff.ts";
import type { GraphBuilder, Tensor } from "../autodiff.ts";

/** `x` at `index` of `axis`: the axis is dropped from the shape. */
export function select(g: GraphBuilder, x: Tensor, axis: number, index: number): Tensor {
  const rank = x.shape.length;
  const a = axis < 0 ? axis + rank : axis;
  const length = x.shape[a] ?? 0;
  if (a < 0 || a >= rank || length < 1) {
    throw new GraphBuildError(`select needs axis ${axis} of known length in [${x.shape}]`);
  }
  const i = index < 0 ? index + length : index;
  if (i < 0 || i >= length)
    throw new GraphBuildError(`select index ${index} outside axis of length ${length}`);
  const shape = x.shape.filter((_, d) => d !== a);
  return g.op(
    "Gather",
    [x, g.constantInt64([i], [])],
    shape,
    { axis: a },
    (grad) => {
      const one = g.raw(
        "Unsqueeze",
        [grad, g.constantInt64([a])],
        [...shape.slice(0, a), 1, ...shape.slice(a)],
      );
      const pads = new Array<number>(2 * rank).fill(0);
      pads[a] = i;
      pads[rank + a] = length - 1 - i;
      return [g.raw("Pad", [one, g.constantInt64(pads)], x.shape, { mode: "constant" }), undefined];
    },
    [x],
  );
}
