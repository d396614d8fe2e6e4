/**
 * Mean cross-entropy of logits [M, V] against int64 class ids [M] (next-token prediction over a
 * vocabulary). The ids become a one-hot [M, V] inside the graph (OneHot), then the builder's softmax
 * cross-entropy gives the loss and its gradient (softmax − one-hot)/M.
 */
import { GraphBuildError } from "../autodiff.ts";
import type { GraphBuilder, Tensor } from "../autodiff.ts";

/** Scalar mean −log p(target) over the M rows. */
export function vocabCrossEntropy(g: GraphBuilder, logits: Tensor, targets: Tensor): Tensor {
  if (logits.shape.length !== 2 || targets.shape.length !== 1) {
    throw new GraphBuildError(
      `vocabCrossEntropy needs logits [M, V] and ids [M], got [${logits.shape}], [${targets.shape}]`,
    );
  }
  const vocab = logits.shape[1]!;
  const oneHot = g.raw(
    "OneHot",
    [targets, g.constantInt64([vocab], [1]), g.constant([0, 1], [2])],
    logits.shape,
    { axis: -1 },
  );
  return g.softmaxCrossEntropy(logits, oneHot);
}
