/** Differentiable ops beyond the builder's core set, one per file (the transformer's building blocks). */
export { batchedMatmul } from "./batched-matmul.ts";
export { causalSoftmax } from "./causal-softmax.ts";
export { embedding } from "./embedding.ts";
export { gelu } from "./gelu.ts";
export { LAYER_NORM_EPSILON, layerNorm } from "./layer-norm.ts";
export { scale } from "./scale.ts";
export { transpose } from "./transpose.ts";
export { vocabCrossEntropy } from "./vocab-cross-entropy.ts";
export { erf } from "./erf.ts";
export { select } from "./select.ts";
export { softmax } from "./softmax.ts";
