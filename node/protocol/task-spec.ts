import { z } from "zod";

import { modelSpecSchema } from "../training/models.ts";

/** What the network trains; every node of a task runs the same spec. */
export const taskSpecSchema = z.object({
  model: modelSpecSchema,
  initSeed: z.number().int().nonnegative().default(1),
  train: z
    .object({
      epochs: z.number().int().positive().default(1),
      batchSize: z.number().int().positive().default(32),
      learningRate: z.number().positive().default(0.1),
    })
    .default({}),
  compression: z
    .object({
      ratio: z.number().gt(0).max(1).default(0.05),
      quantizeBits: z.union([z.literal(2), z.literal(4), z.literal(8)]).optional(),
    })
    .default({}),
  /** Hierarchical aggregation: most inputs per aggregator, and chunks a parent spot-checks per partial. */
  aggregation: z
    .object({
      maxFanIn: z.number().int().min(2).max(1024).default(16),
      spotChecks: z.number().int().min(1).max(64).default(4),
    })
    .default({}),
});
export type TaskSpec = z.output<typeof taskSpecSchema>;
