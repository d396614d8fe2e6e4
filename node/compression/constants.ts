/** Defaults of node/compression and of a task's `compression` spec, each with its unit and reason. */

/**
 * Share of an update's entries a trainer sends (top-k), in (0, 1]. 0.5% with error feedback stays within a
 * point of dense FedAvg on MNIST (bench:compression) while an update shrinks ~380× with 4-bit values; 5%
 * (the earlier default) gave only 18×.
 */
export const DEFAULT_TOPK_RATIO = 0.005;
/**
 * Bits per sent value (QSGD levels plus sign; 32 = float32, unquantized). 4 bits: quantization noise is
 * unbiased and error feedback carries its remainder, so it costs no accuracy in bench:compression, and values
 * stop dominating the bytes (indices take ~1.5 bytes each).
 */
export const DEFAULT_VALUE_BITS = 4;
/**
 * Local DGC momentum for momentum correction (0 = off). Off by default: the node's local optimizer already
 * has momentum, and bench:compression shows no gain from it at 0.5%.
 */
export const DEFAULT_DGC_MOMENTUM = 0;
/**
 * Sparsity warm-up: the top-k shares of a trainer's first updates, one per update, before DEFAULT_TOPK_RATIO
 * holds (DGC's warm-up, Lin et al. 2018). Empty: none.
 */
export const DEFAULT_TOPK_WARMUP_RATIOS: readonly number[] = [];
