/**
 * Personalization (#22): an operator option that fine-tunes each new global model for a few local steps on this
 * node's own data and keeps the result local (it is never committed, pushed or served: the network trains the
 * global model only). The node holds out a random share of its rows, fine-tunes on the rest, and scores both
 * models on the held-out rows, so the operator sees whether the personalized model is better for their data
 * (bench:simulate --only personalization: it is under strong label skew, Dirichlet α ≤ 0.1, and hurts near IID).
 */
import type { Logger } from "pino";
import type { Hex } from "viem";
import { z } from "zod";

import { Rng } from "../core/rng.ts";
import type { ModelSpec } from "./architectures.ts";
import { PERSONALIZATION_DEFAULT_STEPS, PERSONALIZATION_HOLDOUT_SHARE } from "./constants.ts";
import { subset } from "./data/dataset.ts";
import type { Dataset } from "./data/dataset.ts";
import type { TrainingPool } from "./pool.ts";

/** Where the node keeps its personalized model (float32 little-endian, the global model's layout). */
export const PERSONAL_MODEL_FILE = "personal-model.bin";

/** The operator's setting (node config `personalization`, `vain-node start --personalize-steps`). */
export const personalizationSchema = z
  .object({
    /** Local fine-tuning steps per new global model; 0 turns personalization off. */
    steps: z.number().int().min(0).max(10_000).default(PERSONALIZATION_DEFAULT_STEPS),
    /** Fine-tuning learning rate (default: the task's local one). */
    learningRate: z.number().positive().max(10).optional(),
  })
  .strict();
export type PersonalizationSettings = z.output<typeof personalizationSchema>;

/**
 * `local` split at random into rows to fine-tune on and `share` of them held out. Random, not the first rows: a
 * partitioned shard is ordered by class, and a cut of it held out the last classes the fine-tuning never saw.
 */
export function holdOutSplit(local: Dataset, share: number, seed: number): { fit: Dataset; held: Dataset } {
  const rows = Array.from({ length: local.count }, (_, i) => i);
  const rng = new Rng(seed);
  for (let i = rows.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [rows[i], rows[j]] = [rows[j]!, rows[i]!];
  }
  const cut = Math.max(1, Math.min(local.count - 1, Math.round(local.count * (1 - share))));
  return { fit: subset(local, rows.slice(0, cut)), held: subset(local, rows.slice(cut)) };
}

/** A personalized model: fine-tuned from the global model `baseRef`, with both scored on the held-out rows. */
export interface PersonalModel {
  readonly baseRef: Hex;
  readonly params: Float32Array;
  readonly globalAccuracy: number;
  readonly personalAccuracy: number;
}

export interface PersonalizerOptions {
  readonly pool: Pick<TrainingPool, "train" | "evaluate">;
  readonly model: ModelSpec;
  readonly train: { readonly batchSize: number; readonly learningRate: number };
  readonly data: Dataset;
  readonly settings: PersonalizationSettings;
  readonly log: Logger;
  readonly seed?: number;
  /** Each new personalized model (e.g. written to the data directory). */
  readonly onReady?: (model: PersonalModel) => void | Promise<void>;
}

export class Personalizer {
  private readonly options: PersonalizerOptions;
  private readonly split: { fit: Dataset; held: Dataset } | undefined;
  private busy = false;
  private lastBase: string | undefined;
  private current: PersonalModel | undefined;

  constructor(options: PersonalizerOptions) {
    this.options = options;
    this.split =
      options.data.count >= 2
        ? holdOutSplit(options.data, PERSONALIZATION_HOLDOUT_SHARE, options.seed ?? 1)
        : undefined;
  }

  /** The latest personalized model, if any. */
  get model(): PersonalModel | undefined {
    return this.current;
  }

  /** Called with each global model the node holds: fine-tunes once per new model, one run at a time. */
  refresh(globalRef: Hex, global: Float32Array): void {
    const { settings } = this.options;
    if (settings.steps === 0 || this.split === undefined || this.busy) return;
    if (this.lastBase === globalRef.toLowerCase()) return;
    this.busy = true;
    this.lastBase = globalRef.toLowerCase();
    void this.personalize(globalRef, global, this.split)
      .catch((error: unknown) => {
        this.lastBase = undefined;
        this.options.log.warn({ err: error }, "personalization failed; retrying with the next model");
      })
      .finally(() => (this.busy = false));
  }

  private async personalize(
    baseRef: Hex,
    global: Float32Array,
    split: { fit: Dataset; held: Dataset },
  ): Promise<void> {
    const { pool, model, train, settings } = this.options;
    const tuned = await pool.train({
      model,
      params: global,
      data: split.fit,
      options: {
        steps: settings.steps,
        batchSize: train.batchSize,
        learningRate: settings.learningRate ?? train.learningRate,
      },
    });
    const globalAccuracy = (await pool.evaluate(model, global, split.held)).accuracy;
    const personalAccuracy = (await pool.evaluate(model, tuned.params, split.held)).accuracy;
    this.current = { baseRef, params: tuned.params, globalAccuracy, personalAccuracy };
    this.options.log.info(
      {
        base: baseRef,
        steps: settings.steps,
        heldOutRows: split.held.count,
        globalAccuracy,
        personalAccuracy,
        gainPts: (personalAccuracy - globalAccuracy) * 100,
      },
      personalAccuracy >= globalAccuracy
        ? "personalized model ready: better than the global model on this node's held-out rows"
        : "personalized model ready: worse than the global model on this node's held-out rows (use the global one)",
    );
    await this.options.onReady?.(this.current);
  }
}
