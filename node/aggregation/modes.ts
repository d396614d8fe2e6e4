/**
 * Which aggregation and privacy modes combine. Secure aggregation hides individual updates, so per-update
 * robust rules (median, trimmed mean, Krum, centered clipping) cannot run on it; with secure aggregation
 * robustness comes from trainer-side norm clipping (checked by the circuit), and DP noise is added by
 * trainers before masking.
 */
import { z } from "zod";

export const aggregationModeSchema = z.object({
  rule: z.enum([
    "fedavg",
    "median",
    "trimmed-mean",
    "krum",
    "multi-krum",
    "norm-clipping",
    "centered-clipping",
    "screened-mean",
  ]),
  secureAggregation: z.boolean().default(false),
  dp: z.object({ clipNorm: z.number().positive(), noiseMultiplier: z.number().min(0) }).optional(),
  clipBound: z.number().positive().optional(),
});
export type AggregationMode = z.output<typeof aggregationModeSchema>;

/** Rules that need every individual update in the clear. */
const PER_UPDATE_RULES = new Set([
  "median",
  "trimmed-mean",
  "krum",
  "multi-krum",
  "centered-clipping",
  "screened-mean",
]);

/** An impossible combination of modes; the message says which and what to use instead. */
export class IncompatibleModesError extends Error {
  override readonly name = "IncompatibleModesError";
  readonly code = "INCOMPATIBLE_MODES";
}

/** Validates a mode; throws `IncompatibleModesError` for combinations that cannot work. */
export function validateAggregationMode(input: unknown): AggregationMode {
  const mode = aggregationModeSchema.parse(input);
  if (mode.secureAggregation && PER_UPDATE_RULES.has(mode.rule)) {
    throw new IncompatibleModesError(
      `secure aggregation hides individual updates, so "${mode.rule}" cannot run on them: use "norm-clipping" (trainer-side clipping, provable) or "fedavg"`,
    );
  }
  if (mode.rule === "norm-clipping" && mode.secureAggregation && mode.clipBound === undefined) {
    throw new IncompatibleModesError(
      "norm clipping under secure aggregation needs a fixed clipBound (the median norm needs individual updates)",
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
  return (
    mode.rule === "fedavg" ||
    mode.rule === "screened-mean" ||
    (mode.rule === "norm-clipping" && mode.clipBound !== undefined)
  );
}
