/**
 * The guarded mean with per-trainer history (../trainer-trust.ts), the node's rule: each round's guard
 * (../guarded-mean.ts) decides accept or reject, and an accepted update's weight is then scaled by its
 * trainer's trust, built from how well its updates aligned with the majority and how persistent its deviation
 * from the mean was over past rounds. Needs stable trainer identities (`AggregationContext.trainers`);
 * without them it is the memoryless guarded mean.
 */
import { AggregationInputError, fedAvg } from "../../core/updates.ts";
import { guardUpdates } from "../guarded-mean.ts";
import type { GuardedMeanOptions } from "../guarded-mean.ts";
import { foldPublicOutcome } from "../public-outcomes.ts";
import { TRAINER_TRUST_DEFAULTS, updateTrust } from "../trainer-trust.ts";
import type { TrainerRecord, TrainerTrustOptions } from "../trainer-trust.ts";
import type { AggregationResult, Aggregator } from "./types.ts";

/** A guarded mean that remembers each trainer's trust between calls (one instance per task). */
export function guardedMeanTrustAggregator(
  options: { guard?: GuardedMeanOptions; trust?: TrainerTrustOptions; groups?: Uint32Array } = {},
): Aggregator {
  let records = new Map<string, TrainerRecord>();
  return {
    name: "guarded-mean",
    provable: true,
    aggregate(updates, context = {}): AggregationResult {
      // Trainers distrusted before this round (trust below `minTrust`, lowest first) do not vote in the guard's
      // direction reference (guarded-mean.ts): their updates may pass, but the reference stays the trusted majority's.
      const minTrust = options.trust?.minTrust ?? TRAINER_TRUST_DEFAULTS.minTrust;
      const trustOf = (i: number) => records.get(context.trainers?.[i] ?? "")?.trust ?? Infinity;
      const distrusted = updates
        .flatMap((_, i) => (trustOf(i) < minTrust ? [i] : []))
        .sort((a, b) => trustOf(a) - trustOf(b));
      const guard = guardUpdates(updates, options.guard, options.groups, context.previousUpdate, distrusted);
      let acceptedWeights = guard.acceptedWeights;
      const reasons: string[][] = guard.updates.map((u) => [...u.reasons]);
      if (context.trainers !== undefined) {
        if (context.trainers.length !== updates.length)
          throw new AggregationInputError(
            `${context.trainers.length} trainer ids for ${updates.length} updates`,
          );
        const round = updateTrust(records, context.trainers, updates, guard, options.trust, context.round);
        acceptedWeights = round.weights;
        if (context.record !== false) records = round.records;
        round.weights.forEach((w, i) => {
          if (w < guard.acceptedWeights[i]!)
            reasons[i]!.push(`trust ${round.records.get(context.trainers![i]!)!.trust.toFixed(2)}`);
        });
      }
      const kept = updates.flatMap((u, i) =>
        acceptedWeights[i]! > 0 ? [{ update: u.update, weight: acceptedWeights[i]! }] : [],
      );
      if (kept.length === 0) throw new AggregationInputError("every update was rejected");
      const evidence = guard.updates.map(
        (u) =>
          `norm ${u.normRatio.toFixed(2)}x the median, cosine ${u.cosine.toFixed(2)}, work ${u.workShare.toFixed(2)}, group cosine ${u.groupCosine.toFixed(2)}, silent ${u.silentRatio.toFixed(3)} (bound ${guard.silentBound.toFixed(3)}, group cosine ${u.silentGroupCosine.toFixed(2)})` +
          (Number.isNaN(u.historyCosine) ? "" : `, history cosine ${u.historyCosine.toFixed(2)}`),
      );
      return { aggregate: fedAvg(kept), acceptedWeights, reasons, evidence };
    },
    observeOutcome(outcome) {
      records = foldPublicOutcome(records, outcome, options.trust);
    },
  };
}
