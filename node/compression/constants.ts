/** Defaults of node/compression and of a task's `compression` spec, each with its unit and reason. */

/**
 * Share of an update's entries a trainer sends (top-k), in (0, 1], once its warm-up (below) is over. 0.65% with
 * 4-bit values and the 2% first update: ~1,070 B an update on average over 12 rounds (~380× below dense fp32) in
 * wire version 2. The bound is the total: every watcher receives every update, so a node's bytes are ~15
 * updates' a round, and ≥ 50× below dense FedAvg holds while an update averages under ~1,100 B (0.75% in
 * version 1 gave 43×; 0.7% in version 2 averages 1,127 B, about 49×). In simulation (seeds 1-5, bench:round's
 * data, 12 rounds) 0.65% ends -0.10-0.60 pt below dense, mean of the last 3 rounds 0.32-0.80; 0.6% (session 12's
 * default) 0.15-0.85 and 0.42-0.80. On the real network (bench:round, 12 rounds): -0.25 and -0.30 pt on seeds 1 and
 * 2 at 381× per update, 51.8× and 49.8× per node per round (seed 2's watchers fetched four rounds' updates twice
 * under load); 0.6% lost 0.70, 1.05 and 0.55 pt on seeds 1-3 (docs/federated-toolbox.md). 5% (the first default)
 * gave only 18×.
 */
export const DEFAULT_TOPK_RATIO = 0.0065;
/**
 * Bits per sent value (QSGD levels plus sign; 32 = float32, unquantized). 4 bits: quantization noise is
 * unbiased and error feedback carries its remainder, so it costs no accuracy in bench:compression, and values
 * stop dominating the bytes (Huffman-coded in wire version 2, a level takes ~2.2 bits and an index ~1.1 bytes).
 */
export const DEFAULT_VALUE_BITS = 4;
/**
 * Local DGC momentum for momentum correction (0 = off). Off by default: the node's local optimizer already
 * has momentum, and bench:compression shows no gain from it at 0.5%.
 */
export const DEFAULT_DGC_MOMENTUM = 0;
/**
 * Sparsity warm-up: the top-k shares of a trainer's first updates, one per update, before DEFAULT_TOPK_RATIO
 * holds (DGC's warm-up, Lin et al. 2018). One update at 2%: at 0.5% from the start the first round was 15 pt below
 * dense FedAvg on the real network and later rounds carried the deficit; with it 7-9 pt, and 0.80 / 1.05 pt after 12
 * rounds on seeds 1 / 2, where 0.5% alone lost 0.80 / 1.60 (docs/federated-toolbox.md). It costs one ~3 KB update
 * per trainer.
 */
export const DEFAULT_TOPK_WARMUP_RATIOS: readonly number[] = [0.02];
/**
 * Age bound on what a trainer sends (TopKOptions.sentNormCap): at most this multiple of the norm of the top-k of its
 * own update this round, the rest waiting in the residual. Without it the sent norm grew with the trainer's age:
 * over the top-k of its own update, 3.0-3.5× after 12 rounds, 4.4-4.6× after 20 and 11-14× after 40
 * (bench:compression --only task --network-split, seeds 1-3), while a trainer without a residual sends 1× (its
 * first update, at the warm-up's 2%, more), and the guarded mean rejects an update above 3× the round's median
 * norm (the session-14 soak lost 5 honest updates so; guarded-mean.residual-age.test.ts: 25.8× the median after 24
 * rounds beside two fresh trainers). 2.5: there 1.86× the median, inside the test. On the real network (bench:round
 * --compression --rounds 12, seeds 1-3) 2.5 lost 0.60 / 0.60 / 0.60 pt at ~381× per update and ~52× in total, where
 * 2 (1.21× the median in the test) lost 0.40 / 1.30 / 0.00: seed 2 over a point. In simulation (12 rounds, mean of the
 * last 3) the caps 2, 2.5, 3 and none are within a round's noise of each other (0.5-0.8 pt); 1.5 lost more.
 */
export const DEFAULT_SENT_NORM_CAP = 2.5;
/**
 * Age bound on the residual (TopKOptions.residualNormCap): after sending, its norm is at most this multiple of the
 * norm of the trainer's own update this round. The sent cap holds back what a grown residual would send, so
 * without a bound the residual would keep growing and what is sent turn stale; it also scales down a residual
 * saved by a node from before the sent cap. 8: no cost measured against no bound (sent cap 2, 40 rounds, seeds
 * 1-3: 0.78 / 0.75 / 0.33 pt against 0.85 / – / 0.20), where 4 lost more (seed 2: 0.95).
 */
export const DEFAULT_RESIDUAL_NORM_CAP = 8;
