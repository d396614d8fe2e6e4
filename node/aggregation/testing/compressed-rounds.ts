/**
 * Test support: rounds of trainers sending the node's compressed updates to a screening rule, with real
 * MNIST training in the worker pool. The guarded-mean tests share this loop (compressed-rounds, sparse,
 * trained, scale): each trainer keeps one compressor across rounds (its error-feedback residual, as the
 * node's does), trains from the round's model on what its adversary hook hands it, sends the compressed
 * difference; the rule's aggregate moves the model, and the previous step is passed to the next round.
 */
import {
  DEFAULT_DGC_MOMENTUM,
  DEFAULT_TOPK_RATIO,
  DEFAULT_TOPK_WARMUP_RATIOS,
  DEFAULT_VALUE_BITS,
} from "../../compression/constants.ts";
import { TopKCompressor, densify, taskCompressor } from "../../compression/index.ts";
import type { TopKOptions } from "../../compression/index.ts";
import { difference, fedAvg } from "../../core/updates.ts";
import type { WeightedUpdate } from "../../core/updates.ts";
import { createModel } from "../../training/index.ts";
import type { Dataset, ModelSpec, TrainingPool } from "../../training/index.ts";
import { guardUpdates } from "../guarded-mean.ts";
import { DISTRUSTED_WEIGHT } from "../trainer-trust.ts";
import { mapFloat32 } from "../../core/vectors.ts";

/** What the rule decided in one round: the model step and, per trainer, its weight and reasons. */
export interface ScreenedStep {
  readonly aggregate: Float32Array;
  readonly acceptedWeights: readonly number[];
  readonly reasons?: readonly (readonly string[])[];
}

export interface CompressedRoundsOptions {
  readonly pool: TrainingPool;
  readonly model: ModelSpec;
  /** Each trainer's local data. */
  readonly parts: readonly Dataset[];
  readonly rounds: number;
  readonly seed: number;
  /**
   * Top-k share, its warm-up and value bits (none: float32), without the age bounds; default the node's
   * compressor (compression/task-compressor.ts).
   */
  readonly compression?: Pick<TopKOptions, "ratio" | "warmupRatios" | "quantizeBits">;
  /** Local work; default the demo's: 2 epochs, batch 32, lr 0.1. */
  readonly epochs?: number;
  readonly learningRate?: number;
  /** Steps trainer i trains in a round (a slow node's partial work); default all. */
  readonly steps?: (round: number, trainer: number) => number | undefined;
  /** What trainer i trains on (the round adversary's data poisoning); default its data. */
  readonly trainingData?: (trainer: number, local: Dataset) => Dataset;
  /** What trainer i compresses instead of its honest difference (update poisoning); default the difference. */
  readonly poison?: (trainer: number, delta: Float32Array) => Float32Array;
  /**
   * Whether trainer i starts this round with a new compressor, as a node whose data directory was wiped (no
   * residual, the warm-up again); default never.
   */
  readonly freshCompressor?: (round: number, trainer: number) => boolean;
  /** The rule: the round's updates in, the step out. */
  readonly screen: (
    updates: readonly WeightedUpdate[],
    round: number,
    previousUpdate?: Float32Array,
  ) => ScreenedStep;
}

export interface CompressedRoundsResult {
  /** Per round, the trainers given weight 0 or the token weight of a distrusted trainer, as `index:reasons`. */
  readonly excluded: readonly (readonly string[])[];
  /** The model after the last round. */
  readonly global: Float32Array;
}

/** Runs `rounds` rounds from the model's seeded initial parameters. */
export async function runCompressedRounds(o: CompressedRoundsOptions): Promise<CompressedRoundsResult> {
  // The node's own compressor (its age bounds too) unless a test sets the compression.
  const newCompressor = (i: number) =>
    o.compression === undefined
      ? taskCompressor(
          {
            ratio: DEFAULT_TOPK_RATIO,
            warmupRatios: DEFAULT_TOPK_WARMUP_RATIOS,
            quantizeBits: DEFAULT_VALUE_BITS,
            momentum: DEFAULT_DGC_MOMENTUM,
          },
          o.seed * 7 + i + 1,
        )
      : new TopKCompressor({ ...o.compression, seed: o.seed * 7 + i + 1 });
  const compressors = o.parts.map((_, i) => newCompressor(i));
  let global = createModel(o.model).init(o.seed);
  let previousUpdate: Float32Array | undefined;
  const excluded: string[][] = [];
  for (let round = 1; round <= o.rounds; round++) {
    const base = global;
    for (let i = 0; i < compressors.length; i++)
      if (o.freshCompressor?.(round, i) === true) compressors[i] = newCompressor(i);
    const sent = await Promise.all(
      o.parts.map(async (local, i): Promise<WeightedUpdate> => {
        const steps = o.steps?.(round, i);
        const { params, samples } = await o.pool.train({
          model: o.model,
          params: base,
          data: o.trainingData?.(i, local) ?? local,
          options: {
            epochs: o.epochs ?? 2,
            batchSize: 32,
            learningRate: o.learningRate ?? 0.1,
            seed: o.seed + round * 10 + i,
            ...(steps === undefined ? {} : { steps }),
          },
        });
        const delta = difference(params, base);
        const update = densify(compressors[i]!.compress(o.poison?.(i, delta) ?? delta));
        // The node's weight: samples processed, at most one epoch's (protocol/round/trainer.ts).
        return { update, weight: Math.max(1, Math.min(samples, local.count)) };
      }),
    );
    const step = o.screen(sent, round, previousUpdate);
    excluded.push(
      step.acceptedWeights.flatMap((w, i) =>
        w <= DISTRUSTED_WEIGHT ? [`${i}:${(step.reasons?.[i] ?? []).join("+")}`] : [],
      ),
    );
    previousUpdate = step.aggregate;
    global = mapFloat32(base, (x, j) => x + step.aggregate[j]!);
  }
  return { excluded, global };
}

/**
 * The guard alone (no trust) as a round's rule: the model moves by the plain mean of the accepted updates.
 * `replace`: what arrives instead of the trained updates (an update attack that needs the whole round, e.g.
 * sybils pooling theirs); default they arrive as sent.
 */
export function guardStep(
  groups: Uint32Array,
  replace: (sent: readonly WeightedUpdate[]) => readonly WeightedUpdate[] = (sent) => sent,
): CompressedRoundsOptions["screen"] {
  return (trained) => {
    const sent = replace(trained);
    const guard = guardUpdates(sent, {}, groups);
    return {
      aggregate: fedAvg(sent.filter((_, i) => !guard.rejected[i])),
      acceptedWeights: guard.acceptedWeights,
      reasons: guard.updates.map((g) => g.reasons),
    };
  };
}
