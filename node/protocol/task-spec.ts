import { z } from "zod";

import { IncompatibleModesError } from "../aggregation/modes.ts";
import { DEFAULT_TASK_RULE } from "../chain/constants.ts";
import {
  DEFAULT_DGC_MOMENTUM,
  DEFAULT_TOPK_RATIO,
  DEFAULT_TOPK_WARMUP_RATIOS,
  DEFAULT_VALUE_BITS,
} from "../compression/constants.ts";
import { modelSpecSchema } from "../training/architectures.ts";
import { optimizerSpecSchema } from "../training/train-graph.ts";
import { TASK_SERVER_OPTIMIZERS } from "../training/server/index.ts";
import {
  FEDBUFF_BUFFER_SIZE,
  FEDBUFF_MAX_STALENESS,
  FEDBUFF_STALENESS_EXPONENT,
  TASK_FEDAVG_SERVER_LR,
} from "../training/constants.ts";
import { TASK_RULE_NAMES, UnsupportedTaskRuleError, checkTaskAggregation } from "./task-aggregation.ts";

/** What the network trains; every node of a task runs the same spec. */
export const taskSpecSchema = z
  .object({
    model: modelSpecSchema,
    initSeed: z.number().int().nonnegative().default(1),
    train: z
      .object({
        epochs: z.number().int().positive().default(1),
        batchSize: z.number().int().positive().default(32),
        learningRate: z.number().positive().default(0.1),
        /**
         * The local optimizer (node/training/train-graph.ts). Absent: SGD with momentum 0.9, restarted every
         * round (what the MLP figures were measured with). Named, e.g. `{ kind: "adam" }` for the transformer
         * (bench:simulate trains it with Adam 0.003): each node also continues its own optimizer state
         * (moments) from its previous round, as the simulations' nodes do.
         */
        optimizer: optimizerSpecSchema.optional(),
        /**
         * FedProx's proximal coefficient μ (Li et al. 2020): each trainer adds (μ/2)·‖w − w_base‖² to its local
         * loss, pulling its model toward the round's base on non-IID data. Absent (or 0): plain local training.
         */
        proxMu: z.number().min(0).max(10).optional(),
      })
      .default({}),
    /**
     * Update compression (node/compression): top-k share `ratio` with error feedback, each sent value quantized
     * to `quantizeBits` (QSGD; 32 = float32), optional DGC momentum correction; `warmupRatios`: the shares of
     * each trainer's first updates, one per update, before `ratio` holds (sparsity warm-up). Defaults in
     * compression/constants.ts.
     */
    compression: z
      .object({
        ratio: z.number().gt(0).max(1).default(DEFAULT_TOPK_RATIO),
        warmupRatios: z
          .array(z.number().gt(0).max(1))
          .max(16)
          .default([...DEFAULT_TOPK_WARMUP_RATIOS]),
        quantizeBits: z
          .union([z.literal(2), z.literal(4), z.literal(8), z.literal(32)])
          .default(DEFAULT_VALUE_BITS),
        momentum: z.number().min(0).lt(1).default(DEFAULT_DGC_MOMENTUM),
      })
      .default({}),
    /**
     * Privacy. `dp`: every trainer clips its update to L2 `clipNorm` and adds Gaussian noise of standard deviation
     * `noiseMultiplier · clipNorm` before it commits (so the aggregate stays provable), and reports the (epsilon,
     * delta) spent. `secureAggregation` is refused: the node's rounds have no masked aggregation
     * (task-aggregation.ts says why for each combination).
     */
    privacy: z
      .object({
        dp: z
          .object({
            clipNorm: z.number().positive(),
            noiseMultiplier: z.number().min(0),
            delta: z.number().gt(0).lt(1).default(1e-5),
          })
          .strict()
          .optional(),
        secureAggregation: z.boolean().default(false),
      })
      .strict()
      .default({}),
    /**
     * The server step every node recomputes from the proven aggregate (round/server-step.ts): FedAvg
     * (base + lr · aggregate), FedAdam, FedYogi or DiLoCo's outer Nesterov step (node/training/server); `lr` and
     * `momentum` override the optimizer's defaults (node/training/constants.ts). A FedAvg task that names no lr
     * steps with TASK_FEDAVG_SERVER_LR (2: it makes up for what top-k compression holds back); `lr: 1` is
     * McMahan's base + aggregate.
     */
    server: z
      .object({
        optimizer: z.enum(TASK_SERVER_OPTIMIZERS).default("fedavg"),
        lr: z.number().positive().max(10).optional(),
        momentum: z.number().min(0).lt(1).optional(),
      })
      .strict()
      .transform((server) =>
        server.optimizer === "fedavg" && server.lr === undefined
          ? { ...server, lr: TASK_FEDAVG_SERVER_LR }
          : server,
      )
      .default({}),
    /**
     * How trainers meet rounds. `sync`: each trainer trains from the round's base model inside its commit window.
     * `fedbuff` (buffered asynchronous rounds, Nguyen et al. 2022; docs/protocol.md §7, "Buffered rounds"): a
     * trainer trains from the latest model it holds whenever it is free, and commits into whichever round is open when it finishes, at
     * most `bufferSize` trainers a round (the buffer); the aggregator weighs each update by its accepted sample
     * count times (1 + τ)^-`stalenessExponent`, τ being the model steps between the base the update names and
     * the round's base, through the round's posted weights (so the proof binds the discounted mean). An update
     * more than `maxStaleness` steps old weighs 0.
     */
    rounds: z
      .object({
        mode: z.enum(["sync", "fedbuff"]).default("sync"),
        bufferSize: z.number().int().min(1).max(16).default(FEDBUFF_BUFFER_SIZE),
        stalenessExponent: z.number().min(0).max(4).default(FEDBUFF_STALENESS_EXPONENT),
        maxStaleness: z.number().int().min(0).max(FEDBUFF_MAX_STALENESS).default(FEDBUFF_MAX_STALENESS),
      })
      .strict()
      .default({}),
    /**
     * How rounds aggregate. `rule`: the aggregation rule by registry name (aggregation/rules; the chain records
     * its id with the task, and a node refuses a task whose rule is not its spec's); only rules whose output is
     * the weighted mean a round posts run in the node (task-aggregation.ts: fedavg, screened-mean, krum,
     * multi-krum and the default guarded-mean). `proven`: the task's rounds are sampled, challengeable and answered with zk proofs
     * (`task create` registers it, and a node refuses a task whose proof mode is not its spec's). Hierarchical aggregation: `maxFanIn` most inputs per aggregator, and
     * `spotChecks` chunks a parent spot-checks per partial.
     */
    aggregation: z
      .object({
        rule: z.enum(TASK_RULE_NAMES).default(DEFAULT_TASK_RULE),
        proven: z.boolean().default(true),
        maxFanIn: z.number().int().min(2).max(1024).default(16),
        spotChecks: z.number().int().min(1).max(64).default(4),
      })
      .default({}),
  })
  .superRefine((spec, ctx) => {
    // Staleness weights are applied by a flat aggregator (it receives the updates and the bases they name).
    if (spec.rounds.mode === "fedbuff" && spec.rounds.bufferSize > spec.aggregation.maxFanIn)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["rounds", "bufferSize"],
        message: `a FedBuff buffer of ${spec.rounds.bufferSize} exceeds aggregation.maxFanIn ${spec.aggregation.maxFanIn}: buffered rounds are aggregated flat`,
      });
    // The task's rule with its proof and privacy modes: refused here, before anything is signed, when no node
    // could run the combination (task-aggregation.ts).
    try {
      checkTaskAggregation({
        rule: spec.aggregation.rule,
        proven: spec.aggregation.proven,
        secureAggregation: spec.privacy.secureAggregation,
        ...(spec.privacy.dp === undefined ? {} : { dp: spec.privacy.dp }),
      });
    } catch (error) {
      // Invalid fields were already reported by the object schema (refinements still run on dirty data).
      if (error instanceof z.ZodError) return;
      if (error instanceof UnsupportedTaskRuleError)
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [...error.path], message: error.message });
      else if (error instanceof IncompatibleModesError)
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["privacy"], message: error.message });
      else throw error;
    }
  });
export type TaskSpec = z.output<typeof taskSpecSchema>;
/** A spec as written (defaults may be left out): what `taskSpecSchema` parses. */
export type TaskSpecInput = z.input<typeof taskSpecSchema>;
