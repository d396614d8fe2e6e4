/**
 * Which aggregation rules a task may run on the node's rounds, read from the rule registry
 * (aggregation/rules/index.ts), and the typed refusal of a spec whose rule, proof mode and privacy mode cannot
 * work together (issue #22: the task spec decides the rule; docs/protocol.md §8).
 *
 * Whatever the rule, a round posts one statement: the weighted mean of the trainers' committed updates under
 * the weights it posts (rewards are paid by those weights, watchers recompute the mean from them, and a proven
 * round's circuit proves it chunk by chunk). A rule therefore runs in the node only if its output is such a
 * mean: the registry's `provable` rules (no fixed clip bound: trainers do not clip to one, and the circuit does
 * not check norms): fedavg, the screened and guarded means, Krum and Multi-Krum (the weighted mean of the updates
 * they select). The median, trimmed mean and centered clipping output something else and stay in the simulator
 * and benches; norm clipping needs a bound the spec does not carry.
 */
import { AGGREGATION_RULES } from "../aggregation/rules/index.ts";
import type { AggregatorName } from "../aggregation/rules/index.ts";
import { IncompatibleModesError, validateAggregationMode } from "../aggregation/modes.ts";

export { TASK_RULE_NAMES } from "../aggregation/modes.ts";

/** The rules the node's rounds run: task modes whose output is the weighted mean a round posts. */
export const NODE_RULE_NAMES: readonly AggregatorName[] = AGGREGATION_RULES.filter(
  (r) => r.taskMode && r.provable({}),
).map((r) => r.name);

/** A task rule the node's rounds cannot run; the message says why and what to choose instead. */
export class UnsupportedTaskRuleError extends Error {
  override readonly name = "UnsupportedTaskRuleError";
  readonly code = "UNSUPPORTED_TASK_RULE";
  /** The spec field to change (`["aggregation", "rule"]` or `["privacy"]`). */
  readonly path: readonly string[];

  constructor(message: string, path: readonly string[]) {
    super(message);
    this.path = path;
  }
}

/** What of a task spec decides whether its rounds can aggregate. */
export interface TaskAggregationMode {
  readonly rule: AggregatorName;
  /** Whether the task's rounds are proven (challenged chunks answered with zk proofs). */
  readonly proven: boolean;
  readonly secureAggregation: boolean;
  readonly dp?: { readonly clipNorm: number; readonly noiseMultiplier: number };
}

/**
 * Throws `IncompatibleModesError` (a rule that screens single updates under secure aggregation, or a proven
 * task under secure aggregation) or `UnsupportedTaskRuleError` (a rule whose output is not a posted weighted
 * mean, or secure aggregation, which the node's rounds do not implement) for a mode no node can run.
 */
export function checkTaskAggregation(mode: TaskAggregationMode): void {
  validateAggregationMode({
    rule: mode.rule,
    secureAggregation: mode.secureAggregation,
    ...(mode.dp === undefined ? {} : { dp: mode.dp }),
  });
  if (!NODE_RULE_NAMES.includes(mode.rule)) {
    const reason = mode.proven
      ? `the zk circuit cannot prove "${mode.rule}" (it proves a weighted mean of the committed updates under the posted weights)`
      : `"${mode.rule}" does not output a weighted mean of the committed updates, which is what every round posts, pays by and watchers recompute, proven or not`;
    throw new UnsupportedTaskRuleError(
      `${reason}; it runs in the simulator and benches only: choose one of ${NODE_RULE_NAMES.join(", ")}`,
      ["aggregation", "rule"],
    );
  }
  if (mode.secureAggregation) {
    // Secure aggregation hides the updates the circuit's witness and the watchers' recomputation need.
    if (mode.proven)
      throw new IncompatibleModesError(
        `a proven task cannot use secure aggregation: the circuit's witness is the individual updates, which a masked round never reveals (set aggregation.proven to false, or drop secureAggregation)`,
      );
    throw new UnsupportedTaskRuleError(
      `the node's rounds have no masked aggregation yet (secure aggregation exists in node/aggregation/secure-aggregation.ts, for the simulator): drop privacy.secureAggregation, or use privacy.dp (noise added before the commitment)`,
      ["privacy"],
    );
  }
}
