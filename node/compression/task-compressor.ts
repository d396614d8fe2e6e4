/**
 * The compressor a trainer of a task runs: the task's compression spec with the node's age bounds
 * (constants.ts), in one place for the node's trainer, the benches and the tests that mirror it.
 */
import { DEFAULT_RESIDUAL_NORM_CAP, DEFAULT_SENT_NORM_CAP } from "./constants.ts";
import { TopKCompressor } from "./topk.ts";
import type { TopKOptions } from "./topk.ts";

/** A task spec's `compression` (protocol/task-spec.ts); 32 bits means float32 values. */
export interface TaskCompression {
  readonly ratio: number;
  readonly warmupRatios: readonly number[];
  readonly quantizeBits: 2 | 4 | 8 | 32;
  readonly momentum: number;
}

/** `age` overrides the node's age bounds (a bench trying others). */
export function taskCompressor(
  compression: TaskCompression,
  seed: number,
  age: Pick<TopKOptions, "sentNormCap" | "residualNormCap"> = {},
): TopKCompressor {
  const { ratio, warmupRatios, quantizeBits, momentum } = compression;
  return new TopKCompressor({
    ratio,
    warmupRatios,
    ...(quantizeBits === 32 ? {} : { quantizeBits }),
    momentum,
    seed,
    sentNormCap: DEFAULT_SENT_NORM_CAP,
    residualNormCap: DEFAULT_RESIDUAL_NORM_CAP,
    ...age,
  });
}
