import { readFileSync } from "node:fs";

import { z } from "zod";

import { taskSpecSchema } from "../protocol/task-spec.ts";
import { personalizationSchema } from "../training/personalization.ts";
import { resourceLimitsSchema } from "../resources/limits.ts";
import { parseDurationMs } from "./duration.ts";
import { ConfigError } from "./errors.ts";

/** A duration given either as milliseconds (number) or a string with a unit suffix. */
const durationMs = z.union([z.number().int().nonnegative(), z.string().transform((s) => parseDurationMs(s))]);

/** The node's whole configuration. Every field has a default so an empty file is a valid config. */
export const nodeConfigSchema = z
  .object({
    dataDir: z.string().min(1).default(".vain"),
    rpcUrl: z.string().url().default("http://127.0.0.1:8545"),
    listen: z.array(z.string().min(1)).default(["/ip4/127.0.0.1/tcp/0"]),
    bootstrap: z.array(z.string().min(1)).default([]),
    apiPort: z.number().int().min(0).max(65535).default(0),
    ui: z.boolean().default(false),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
    roundTimeoutMs: durationMs.default(60_000),
    trainTimeoutMs: durationMs.default(30_000),
    /** Deployment file; default deployments/<chainId>.json (or $VAIN_DEPLOYMENT). */
    deployment: z.string().min(1).optional(),
    /** Mesh settings profile: `local-simulation` only for many nodes on one host. */
    profile: z.enum(["default", "local-simulation", "low-power"]).default("default"),
    /** The task this node trains and its spec (every node of a task must use the same spec). */
    taskId: z.number().int().positive().default(1),
    task: taskSpecSchema.default({ model: { kind: "mlp" } }),
    /** Local training data: a shard of the bundled MNIST digits, or IDX files in a directory. */
    data: z
      .discriminatedUnion("kind", [
        z.object({
          kind: z.literal("mnist"),
          shard: z.number().int().nonnegative().default(0),
          shards: z.number().int().positive().default(1),
          seed: z.number().int().nonnegative().default(7),
        }),
        z.object({ kind: z.literal("directory"), path: z.string().min(1) }),
      ])
      .default({ kind: "mnist" }),
    /** Train in rounds (off: only validate, serve models and do protocol duties). */
    train: z.boolean().default(true),
    /**
     * Personalization (node/training/personalization.ts): fine-tune each new global model for `steps` local steps
     * on this node's data and keep it local (`<dataDir>/personal-model.bin`); 0 (default) is off.
     */
    personalization: personalizationSchema.default({}),
    /**
     * Offer to aggregate (the chain picks among candidates, stake-weighted). `auto`: decided from attested
     * capacity, reputation and resource limits (node/scheduling/opt-in.ts); a boolean is the operator's choice.
     */
    aggregator: z.union([z.boolean(), z.literal("auto")]).default("auto"),
    /** Operator resource limits and the low-power profile (node/resources/limits.ts). */
    resources: resourceLimitsSchema.default({}),
    /** Capacity attestation of peers (node/runtime/capacity.ts): how often and how many per sweep. */
    attestation: z
      .object({
        enabled: z.boolean().default(true),
        intervalMs: durationMs.default(600_000),
        peersPerSweep: z.number().int().min(1).max(16).default(2),
      })
      .strict()
      .default({}),
    /** Blocks behind the chain head the node acts on (reorg safety); 0 suits local automining chains. */
    confirmations: z.number().int().min(0).max(64).default(0),
    /**
     * Open the task's next round when none is active and it is due (any node may; the last round's trainers
     * first, the others back off), so a network of default nodes trains with nobody running `round open`.
     */
    openRounds: z.boolean().default(true),
    /** How often the node reads the chain for round progress. */
    pollIntervalMs: durationMs.default(1_000),
  })
  .strict();

export type NodeConfig = z.output<typeof nodeConfigSchema>;

/** Environment variables read by the node, and the config key each one sets. */
export const ENV_KEYS: Readonly<Record<string, keyof NodeConfig>> = {
  VAIN_DATA_DIR: "dataDir",
  VAIN_RPC_URL: "rpcUrl",
  VAIN_API_PORT: "apiPort",
  VAIN_LOG_LEVEL: "logLevel",
  VAIN_ROUND_TIMEOUT: "roundTimeoutMs",
  VAIN_TRAIN_TIMEOUT: "trainTimeoutMs",
  VAIN_DEPLOYMENT: "deployment",
  VAIN_PROFILE: "profile",
};

/** Reads a JSON config file; a missing or malformed file is a one-line ConfigError. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(
      "CONFIG_FILE_UNREADABLE",
      `cannot read config file ${path}: ${(error as Error).message}`,
    );
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not a JSON object");
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(
      "CONFIG_FILE_UNREADABLE",
      `config file ${path} is not valid JSON: ${(error as Error).message}`,
    );
  }
}

/** Picks the node's settings out of the environment; numeric keys are converted, others kept as text. */
export function configFromEnv(env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    out[key] = key === "apiPort" ? Number(value) : value;
  }
  return out;
}

/**
 * Resolves the configuration with precedence defaults < file < env < flags, and validates it.
 * Errors name the offending key on one line.
 */
export function resolveConfig(layers: {
  file?: Record<string, unknown>;
  env?: Record<string, unknown>;
  flags?: Record<string, unknown>;
}): NodeConfig {
  const defined = (o: Record<string, unknown> | undefined): Record<string, unknown> =>
    Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined));
  const merged = { ...defined(layers.file), ...defined(layers.env), ...defined(layers.flags) };
  try {
    const result = nodeConfigSchema.safeParse(merged);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    const where = issue === undefined ? "config" : issue.path.join(".") || "config";
    throw new ConfigError("CONFIG_INVALID", `invalid config: ${where}: ${issue?.message ?? "invalid"}`);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError("CONFIG_INVALID", `invalid config: ${(error as Error).message}`);
  }
}
