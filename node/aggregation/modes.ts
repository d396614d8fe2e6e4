/**
 * Which aggregation and privacy modes combine. Secure aggregation hides individual updates, so rules that
 * screen single updates (median, trimmed mean, Krum, centered clipping, the screened mean) cannot run on
 * it; with secure aggregation robustness comes from trainer-side norm clipping (unchecked today: no circuit
 * proves a norm bound, docs §8), and DP noise is added by trainers before masking. Every property is read from
 * the rule registry (rules/index.ts).
 */
import { z } from "zod";

import { AGGREGATION_RULES, aggregationRule } from "./rules/index.ts";
import type { AggregatorName } from "./rules/index.ts";

/** The rules a task may choose (the registry's `taskMode` entries). */
export const TASK_RULE_NAMES = AGGREGATION_RULES.filter((r) => r.taskMode).map((r) => r.name) as [
  AggregatorName,
  ...AggregatorName[],
];

export const aggregationModeSchema = z.object({
  rule: z.enum(TASK_RULE_NAMES),
  secureAggregation: z.boolean().default(false),
  dp: z.object({ clipNorm: z.number().positive(), noiseMultiplier: z.number().min(0) }).optional(),
  clipBound: z.number().positive().optional(),
});
export type AggregationMode = z.output<typeof aggregationModeSchema>;

/** An impossible combination of modes; the message says which and what to use instead. */
export class IncompatibleModesError extends Error {
  override readonly name = "IncompatibleModesError";
  readonly code = "INCOMPATIBLE_MODES";
}

/** Validates a mode; throws `IncompatibleModesError` for combinations that cannot work. */
export function validateAggregationMode(input: unknown): AggregationMode {
  const mode = aggregationModeSchema.parse(input);
  if (mode.secureAggregation && aggregationRule(mode.rule).screensSingleUpdates(mode)) {
    throw new IncompatibleModesError(
      `secure aggregation hides individual updates, so "${mode.rule}"${mode.clipBound === undefined ? " without a fixed clipBound" : ""} cannot run on them: use "norm-clipping" with a fixed clipBound (trainer-side clipping, provable) or "fedavg"`,
    );
  }
  return mode;
}

/**
 * Whether rounds with this mode can be proven by the zk circuit (a weighted mean of committed updates). Never
 * under secure aggregation: the circuit's witness is the individual updates, which the aggregator never sees.
 */
export function isProvable(mode: AggregationMode): boolean {
  if (mode.secureAggregation) return false;
  return aggregationRule(mode.rule).provable(mode);
}
