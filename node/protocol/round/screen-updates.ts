/**
 * Robust screening of an aggregator's received updates by the task's rule (aggregator.ts `screen`, the
 * sub-aggregator's levels): each operator's weight is its sample count, capped at the group's median count and
 * lowered by its trust from earlier rounds, or 0 when the rule rejects it (no reward, no influence).
 */
import { AggregationInputError } from "../../core/updates.ts";
import { MAX_WEIGHT } from "../../proofs/index.ts";
import { MIN_SCREENED_UPDATES } from "./context.ts";
import type { RoundContext, RoundView } from "./context.ts";
import type { AggregatorWork } from "./round-work.ts";
import type { TaskRule } from "./task-rule.ts";

export interface ScreenUpdatesParameters {
  readonly round: RoundView;
  readonly work: AggregatorWork;
  /** The operators (lower case) whose received updates are screened; those without one are left out. */
  readonly operators: readonly string[];
  readonly roundId?: bigint;
  /** The previous round's public model step (previous-step.ts): the guard's history reference. */
  readonly previousUpdate?: Float32Array;
}

/** Each screened operator's weight (absent: no received update); all 0 when the rule accepts none. */
export async function screenUpdates(
  ctx: RoundContext,
  taskRule: TaskRule,
  { round, work, operators, roundId, previousUpdate }: ScreenUpdatesParameters,
): Promise<Map<string, number>> {
  const index = new Map(round.trainers.map((t, i) => [t.toLowerCase(), i]));
  const available = operators.flatMap((operator) => {
    const update = work.received.get(operator);
    const i = index.get(operator);
    return update === undefined || i === undefined ? [] : [{ operator, update, i }];
  });
  const out = new Map<string, number>();
  if (available.length === 0) return out;
  // A median of one or two updates is no robust reference: small groups pass unscreened.
  if (available.length < MIN_SCREENED_UPDATES) {
    for (const { operator, i } of available)
      out.set(operator, Math.min(Number(round.sampleCounts[i]!), MAX_WEIGHT));
    return out;
  }
  const weighted = available.map(({ update, i }) => ({
    update: update.dense,
    weight: Number(round.sampleCounts[i]!),
  }));
  const trainers = available.map(({ operator }) => operator);
  let weights: readonly number[];
  try {
    const result = await taskRule.aggregate(roundId, weighted, {
      trainers,
      ...(roundId === undefined ? {} : { round: Number(roundId) }),
      ...(previousUpdate === undefined ? {} : { previousUpdate }),
    });
    weights = result.acceptedWeights;
    const rejected = trainers.flatMap((t, k) =>
      (result.reasons?.[k]?.length ?? 0) > 0
        ? [`${t}: ${result.reasons![k]!.join(",")}${result.evidence ? ` (${result.evidence[k]})` : ""}`]
        : [],
    );
    if (rejected.length > 0) ctx.log.info({ roundId, rejected }, "updates rejected or down-weighted");
  } catch (error) {
    // Every update rejected: all weights 0 (the caller posts all-zero weights, docs/protocol.md §3).
    if (!(error instanceof AggregationInputError)) throw error;
    ctx.log.warn({ roundId, err: error }, "no update accepted");
    weights = trainers.map(() => 0);
  }
  available.forEach(({ operator }, k) => {
    out.set(operator, Math.min(weights[k]!, MAX_WEIGHT));
  });
  return out;
}
