/**
 * The guarded mean with per-trainer history (../trainer-trust.ts), the node's rule: each round's guard
 * (../guarded-mean.ts) decides accept or reject, and an accepted update's weight is then scaled by its
 * trainer's trust, built from how well its updates aligned with the majority and how persistent its deviation
 * from the mean was over past rounds; an update whose trainer keeps pushing energy into the same silent rows round
 * after round, or pushes them the same way as its past values there, is rejected (../silent-history.ts). Needs stable trainer identities (`AggregationContext.trainers`);
 * without them it is the memoryless guarded mean.
 */
import { AggregationInputError, fedAvg } from "../../core/updates.ts";
import { guardUpdates } from "../guarded-mean.ts";
import type { GuardedMeanOptions } from "../guarded-mean.ts";
import { foldPublicOutcome } from "../public-outcomes.ts";
import { updateSilentDirection, updateSilentHistory } from "../silent-history.ts";
import type {
  DirectionRecord,
  SilentDirectionOptions,
  SilentHistoryOptions,
  SilentRecord,
} from "../silent-history.ts";
import { TRAINER_TRUST_DEFAULTS, nextRound, updateTrust } from "../trainer-trust.ts";
import type { TrainerRecord, TrainerTrustOptions } from "../trainer-trust.ts";
import type { AggregationResult, Aggregator } from "./types.ts";
import type { PublicRoundOutcome } from "../public-outcomes.ts";
import { GUARDED_MEAN_DEFAULTS } from "../guarded-mean-defaults.ts";
import { revealedSilentRows } from "../silent-rows.ts";
import { SILENT_DRIFT_DEFAULTS, addDrift, scoreSilentDrift } from "../silent-drift.ts";
import { clipSilentRows } from "../silent-row-clip.ts";
import type { SilentDriftOptions } from "../silent-drift.ts";
import { dot, median } from "../guard-statistics.ts";

/** A guarded mean that remembers each trainer's trust between calls (one instance per task). */
export function guardedMeanTrustAggregator(
  options: {
    guard?: GuardedMeanOptions;
    trust?: TrainerTrustOptions;
    silent?: SilentHistoryOptions & SilentDirectionOptions;
    drift?: SilentDriftOptions;
    /**
     * Bench-only (not provable): each accepted update's input rows cut to this multiple of the row's (t + 1)-th
     * largest energy before the mean (silent-row-clip.ts); undefined: no clip.
     */
    rowClip?: number;
    groups?: Uint32Array;
  } = {},
): Aggregator {
  let records = new Map<string, TrainerRecord>();
  let silentRecords = new Map<string, SilentRecord>();
  let directions = new Map<string, DirectionRecord>();
  // The model's drift: the sum of the global steps this node aggregated or folded (silent-drift.ts).
  let drift: Float32Array | undefined;
  // Off (the node's default): no model-sized vector kept, nothing computed.
  const drifting =
    options.groups !== undefined &&
    (options.drift?.maxCosine ?? SILENT_DRIFT_DEFAULTS.maxCosine) !== Infinity;
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
      const perRound = guardUpdates(
        updates,
        options.guard,
        options.groups,
        context.previousUpdate,
        distrusted,
      );
      let guard = perRound;
      let acceptedWeights = perRound.acceptedWeights;
      let notes: string[] = updates.map(() => "");
      let trustNotes: string[][] = updates.map(() => []);
      if (context.trainers !== undefined) {
        const trainers = context.trainers;
        if (trainers.length !== updates.length)
          throw new AggregationInputError(`${trainers.length} trainer ids for ${updates.length} updates`);
        const number = context.round ?? nextRound(records);
        // Silent rows across rounds (silent-history.ts): an update whose trainer keeps pushing energy into the same
        // silent rows beyond the bound is rejected as the guard rejects, before trust scores the round.
        const history = updateSilentHistory(
          silentRecords,
          trainers,
          perRound.silentRows,
          number,
          options.silent,
        );
        if (context.record !== false) silentRecords = history.records;
        // ... or keeps pushing its silent rows the same way (compressed updates, with the model's groups only).
        const groups = options.groups;
        const direction =
          groups === undefined
            ? undefined
            : updateSilentDirection(
                directions,
                trainers,
                updates.map((u) => u.update),
                groups,
                perRound.silentRows,
                number,
                options.silent,
              );
        if (direction !== undefined && context.record !== false) directions = direction.records;
        // ... or pushes its silent rows the way the model has already moved there, whoever pushed it (silent-drift.ts).
        const drifted =
          groups === undefined || !drifting
            ? undefined
            : scoreSilentDrift(
                drift,
                updates.map((u) => u.update),
                groups,
                perRound.silentRows,
                median(updates.map((u) => dot(u.update, u.update))),
                options.drift,
              );
        notes = history.evidence.map(
          (e, i) =>
            `, silent recurrent ${history.recurrent[i]!.toFixed(3)}, history ${e.toFixed(3)} (bound ${history.bound.toFixed(3)})` +
            (direction === undefined
              ? ""
              : `, silent direction ${direction.cosines[i]!.toFixed(2)}, push ${direction.along[i]!.toFixed(3)}, sustained ${direction.pushes[i]!.toFixed(3)} (bound ${direction.pushBound.toFixed(3)})`) +
            (drifted === undefined
              ? ""
              : `, drift cosine ${drifted.cosines[i]!.toFixed(2)}, row ${drifted.rowCosines[i]!.toFixed(2)}, along ${drifted.along[i]!.toFixed(3)} (drift energy ${drifted.driftEnergies[i]!.toFixed(3)})`),
        );
        const why = trainers.map((_, i) => [
          ...(history.over[i] ? ["silent-history" as const] : []),
          ...(direction?.over[i] ? ["silent-direction" as const] : []),
          ...(direction?.pushed[i] ? ["silent-push" as const] : []),
          ...(drifted?.over[i] ? ["silent-drift" as const] : []),
        ]);
        if (why.some((w) => w.length > 0))
          guard = {
            ...perRound,
            rejected: perRound.rejected.map((r, i) => r || why[i]!.length > 0),
            acceptedWeights: perRound.acceptedWeights.map((w, i) => (why[i]!.length > 0 ? 0 : w)),
            updates: perRound.updates.map((u, i) =>
              why[i]!.length > 0 ? { ...u, reasons: [...u.reasons, ...why[i]!] } : u,
            ),
          };
        const round = updateTrust(records, trainers, updates, guard, options.trust, number);
        acceptedWeights = round.weights;
        if (context.record !== false) records = round.records;
        trustNotes = round.weights.map((w, i) =>
          w < guard.acceptedWeights[i]! ? [`trust ${round.records.get(trainers[i]!)!.trust.toFixed(2)}`] : [],
        );
      }
      const reasons: string[][] = guard.updates.map((u, i) => [...u.reasons, ...trustNotes[i]!]);
      const sent =
        options.rowClip === undefined || options.groups === undefined
          ? updates.map((u) => u.update)
          : clipSilentRows(
              updates.map((u) => u.update),
              options.groups,
              Math.min(
                Math.floor(
                  (options.guard?.byzantineFraction ?? GUARDED_MEAN_DEFAULTS.byzantineFraction) *
                    updates.length,
                ),
                Math.floor((updates.length - 1) / 2),
              ),
              options.rowClip,
            );
      const kept = sent.flatMap((update, i) =>
        acceptedWeights[i]! > 0 ? [{ update, weight: acceptedWeights[i]! }] : [],
      );
      if (kept.length === 0) throw new AggregationInputError("every update was rejected");
      const aggregate = fedAvg(kept);
      if (context.record !== false && drifting) drift = addDrift(drift, aggregate);
      const evidence = guard.updates.map(
        (u, i) =>
          `norm ${u.normRatio.toFixed(2)}x the median, cosine ${u.cosine.toFixed(2)}, work ${u.workShare.toFixed(2)}, group cosine ${u.groupCosine.toFixed(2)}, silent ${u.silentRatio.toFixed(3)} (bound ${guard.silentBound.toFixed(3)}, group cosine ${u.silentGroupCosine.toFixed(2)})` +
          (Number.isNaN(u.historyCosine) ? "" : `, history cosine ${u.historyCosine.toFixed(2)}`) +
          notes[i]!,
      );
      return { aggregate, acceptedWeights, reasons, evidence };
    },
    observeOutcome(outcome) {
      records = foldPublicOutcome(records, outcome, options.trust);
      // The silent memories from the round's revealed updates, as the round's aggregator folded them: every node
      // that holds them keeps the same memories whoever aggregated, so a rotating aggregator does not reset them.
      const folded = foldRevealedRound(silentRecords, directions, outcome, options);
      if (folded !== undefined) {
        [silentRecords, directions] = folded;
        const step = postedStep(outcome);
        if (step !== undefined && drifting) drift = addDrift(drift, step);
      }
    },
  };
}

/**
 * The silent memories after a round another node aggregated, folded from its revealed updates (`outcome.updates`)
 * exactly as `aggregate` folds a round it screens: the guard's silent parts depend on the updates alone
 * (silent-rows.ts `revealedSilentRows`). Undefined (nothing folded) without groups or updates, when an update is
 * malformed (a peer's bad input: the set would not be the one the aggregator screened), or when a trainer of the
 * round was already folded for it or later (this node screened it itself, or the fold came twice).
 */
function foldRevealedRound(
  silentRecords: ReadonlyMap<string, SilentRecord>,
  directions: ReadonlyMap<string, DirectionRecord>,
  outcome: PublicRoundOutcome,
  options: {
    guard?: GuardedMeanOptions;
    silent?: SilentHistoryOptions & SilentDirectionOptions;
    groups?: Uint32Array;
  },
): [Map<string, SilentRecord>, Map<string, DirectionRecord>] | undefined {
  const { groups } = options;
  if (groups === undefined || outcome.updates === undefined) return undefined;
  if (outcome.updates.length !== outcome.trainers.length) return undefined;
  const size = groups[groups.length - 1]!;
  const trainers: string[] = [];
  const updates: Float32Array[] = [];
  for (const [i, update] of outcome.updates.entries()) {
    if (update === undefined) continue;
    if (!(update instanceof Float32Array) || update.length !== size || !update.every(Number.isFinite))
      return undefined;
    trainers.push(outcome.trainers[i]!.toLowerCase());
    updates.push(update);
  }
  if (new Set(trainers).size !== trainers.length) return undefined;
  const seen = (t: string) =>
    (silentRecords.get(t)?.lastRound ?? -Infinity) >= outcome.round ||
    (directions.get(t)?.lastRound ?? -Infinity) >= outcome.round;
  if (updates.length === 0 || trainers.some(seen)) return undefined;
  const silentRows = revealedSilentRows(
    updates,
    groups,
    options.guard?.byzantineFraction ?? GUARDED_MEAN_DEFAULTS.byzantineFraction,
    options.guard?.silentRowFactor ?? GUARDED_MEAN_DEFAULTS.silentRowFactor,
  );
  const history = updateSilentHistory(silentRecords, trainers, silentRows, outcome.round, options.silent);
  const direction = updateSilentDirection(
    directions,
    trainers,
    updates,
    groups,
    silentRows,
    outcome.round,
    options.silent,
  );
  return [history.records, direction.records];
}

/**
 * The global step of a round another node aggregated, recomputed from its public outcome: the weighted mean of its
 * revealed updates with the posted weights (the proven statement, §5). Undefined when no update has weight.
 */
function postedStep(outcome: PublicRoundOutcome): Float32Array | undefined {
  const kept: { update: Float32Array; weight: number }[] = [];
  outcome.updates?.forEach((update, i) => {
    const weight = Number(outcome.weights[i] ?? 0);
    if (update !== undefined && weight > 0) kept.push({ update, weight });
  });
  return kept.length === 0 ? undefined : fedAvg(kept);
}
