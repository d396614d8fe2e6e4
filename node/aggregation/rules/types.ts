/** What an aggregation rule is (`Aggregator`), and how the registry (index.ts) describes one. */
import { AggregationInputError } from "../../core/updates.ts";
import type { WeightedUpdate } from "../../core/updates.ts";
import type { PublicRoundOutcome } from "../public-outcomes.ts";

/** The outcome of one aggregation: the aggregate and, per input, the weight it finally received. */
export interface AggregationResult {
  readonly aggregate: Float32Array;
  /** Effective weight of each update (0 = rejected); feeds rewards (on-chain weights) and reputation. */
  readonly acceptedWeights: readonly number[];
  /** Per input, why it was rejected or down-weighted (empty when accepted; absent for rules that do not say). */
  readonly reasons?: readonly (readonly string[])[];
  /**
   * Per input, the measurements its verdict rests on, for the operator's log (e.g. "norm 3.40x, cosine 0.12"):
   * a reason alone did not tell whether an honest update rejected for its norm was too long or too short (the
   * 60-minute soak, 2026-12-06). Absent for rules that do not measure.
   */
  readonly evidence?: readonly string[];
}

/** What the round knows beyond the updates themselves (rules with per-trainer history use it). */
export interface AggregationContext {
  /** Stable identity of each update's trainer, in order (operator addresses in rounds, node index in the simulator). */
  readonly trainers?: readonly string[];
  /** false: a what-if evaluation (an adaptive attacker querying the rule); a rule keeps no history of it. */
  readonly record?: boolean;
  /** The round's number for rules with history (the chain's round id in the node); default: the next one. */
  readonly round?: number;
  /**
   * The previous round's global update (the public model step: next model minus current), for rules that
   * judge this round's updates against the direction the network last took; absent in a task's first round.
   */
  readonly previousUpdate?: Float32Array;
}

/** An aggregation rule. `provable` rules are covered by the zk circuit (weighted mean with clipping). */
export interface Aggregator {
  readonly name: string;
  readonly provable: boolean;
  aggregate(updates: readonly WeightedUpdate[], context?: AggregationContext): AggregationResult;
  /**
   * Rules with per-trainer history: take in a round another node aggregated, from its public outcome (the
   * posted weights, ../public-outcomes.ts). Rules without history do not define it.
   */
  observeOutcome?(outcome: PublicRoundOutcome): void;
}

/** What a rule is configured with: the group size, the assumed Byzantine count, an optional fixed bound. */
export interface AggregationRuleOptions {
  readonly n: number;
  readonly f: number;
  readonly clipBound?: number;
  readonly seed?: number;
  /**
   * The model's coordinate groups (../coordinate-groups.ts `inputGroups(layout)`): rules that look for
   * energy where the honest majority is silent judge whole input rows, which holds on sparse updates.
   */
  readonly groups?: Uint32Array;
}

/** The part of a task's aggregation mode a rule's properties depend on. */
export interface RuleModeOptions {
  readonly clipBound?: number;
}

/**
 * One entry of the rule registry. Everything the rest of the code asks about a rule (its name, whether a
 * task may choose it, whether secure aggregation can run it, whether the circuit proves it) is read from
 * here.
 */
export interface AggregationRule<Name extends string = string> {
  readonly name: Name;
  /** The paper the rule follows. */
  readonly citation: string;
  /** Offered as a task's aggregation mode; false for benchmark-only variants. */
  readonly taskMode: boolean;
  /** Whether the zk circuit proves its output (a weighted mean of committed updates with public weights). */
  provable(options: RuleModeOptions): boolean;
  /** Whether it must see every update in the clear, so it cannot run under secure aggregation. */
  screensSingleUpdates(options: RuleModeOptions): boolean;
  /** The rule configured for `options`. */
  create(options: AggregationRuleOptions): Aggregator;
}

/** Checks that there are updates and that they have one length; returns the length. */
export function checkUpdates(updates: readonly WeightedUpdate[]): number {
  if (updates.length === 0) throw new AggregationInputError("no updates to aggregate");
  const size = updates[0]!.update.length;
  for (const u of updates) {
    if (u.update.length !== size)
      throw new AggregationInputError(`update of length ${u.update.length}, expected ${size}`);
  }
  return size;
}
