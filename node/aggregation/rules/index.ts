/**
 * The aggregation rules: one file per rule, this array the only list of them. Names, the task modes a
 * task may choose, which rules secure aggregation excludes and which the circuit proves (modes.ts), and
 * `createAggregator` all derive from it. A new rule is one new file and one line here.
 */
import { bucketedCenteredClippingRule } from "./bucketed-centered-clipping.ts";
import { centeredClippingRule } from "./centered-clipping.ts";
import { fedAvgRule } from "./fedavg.ts";
import { guardedMeanRule, guardedMeanWeightedRule } from "./guarded-mean.ts";
import { guardedMeanMemorylessRule } from "./guarded-mean-memoryless.ts";
import { guardedMeanPushRule } from "./guarded-mean-push.ts";
import { guardedMeanRowClipRule } from "./guarded-mean-row-clip.ts";
import { guardedMeanDriftRule } from "./guarded-mean-drift.ts";
import { krumRule } from "./krum.ts";
import { medianRule } from "./median.ts";
import { multiKrumRule } from "./multi-krum.ts";
import { normClippingRule } from "./norm-clipping.ts";
import { screenedMeanRule } from "./screened-mean.ts";
import { trimmedMeanRule } from "./trimmed-mean.ts";
import type { AggregationRule, AggregationRuleOptions, Aggregator } from "./types.ts";

export const AGGREGATION_RULES = [
  fedAvgRule,
  medianRule,
  trimmedMeanRule,
  krumRule,
  multiKrumRule,
  normClippingRule,
  centeredClippingRule,
  screenedMeanRule,
  bucketedCenteredClippingRule,
  // Appended: a task's on-chain rule id is its index among the task rules, so existing ids stay.
  guardedMeanRule,
  guardedMeanWeightedRule,
  guardedMeanMemorylessRule,
  guardedMeanPushRule,
  guardedMeanRowClipRule,
  guardedMeanDriftRule,
] as const;

export type AggregatorName = (typeof AGGREGATION_RULES)[number]["name"];

/** Every rule's name, in registry order (bench:robust runs them all). */
export const AGGREGATOR_NAMES: readonly AggregatorName[] = AGGREGATION_RULES.map((r) => r.name);

/** The registry entry of `name`; throws `RangeError` for a name that is not registered. */
export function aggregationRule(name: string): AggregationRule {
  const rule = AGGREGATION_RULES.find((r) => r.name === name);
  if (rule === undefined) throw new RangeError(`unknown aggregation rule "${name}"`);
  return rule;
}

/** An aggregator by name, configured for an assumed number of Byzantine nodes `f` out of `n`. */
export function createAggregator(name: AggregatorName, options: AggregationRuleOptions): Aggregator {
  return aggregationRule(name).create(options);
}
