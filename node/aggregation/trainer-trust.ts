/**
 * Per-trainer trust carried across rounds, for the guarded mean with history (rules/guarded-mean-trust.ts).
 *
 * Each round every trainer gets a score in [-1, 1], the smaller of two pieces of evidence:
 * - Alignment: its cosine to the guarded mean's direction reference relative to the group's median cosine
 *   (1 from `fullTrustShare` of the median up), or its cosine to the previous step relative to the group's
 *   median of those when that is higher (the step is fixed before the round's senders speak; the round's median
 *   is not). A sign flipper with skewed data is rejected in some rounds and barely aligned in the others; an
 *   honest skewed trainer stays positively aligned.
 * - Persistence: the cosine between its deviation from this round's centre (the coordinate-wise median of the
 *   updates the guard passed) and its deviation of the previous round, relative to the group's median. Honest trainers keep their data, so what sets them apart
 *   from the mean persists from round to round (measured in bench:robust: 0.6–0.8, IID and Dirichlet 0.5);
 *   an attacker that hides inside the honest spread with fresh noise (the adaptive, slow-poisoning and
 *   sleeper attacks) does not (0.15–0.45). This is worker momentum's point (Karimireddy, He, Jaggi, "Learning
 *   from History for Byzantine Robust Optimization", ICML 2021): honest variation is consistent over time,
 *   injected variation is not.
 * Trust is the smaller of a fast and a slow average of the scores: the fast one falls to a low score at once
 * and climbs back half-way per round (distrust fast, trust slowly, as reputation systems do); the slow one is
 * the mean of every score so far, so a trainer that spent its first rounds pointing away from the majority
 * stays distrusted for about as long. An accepted update's weight is its capped sample count times its trust (at most 1),
 * and a token 1 below `minTrust` (0 only when the guard rejected the update itself; `updateTrust` says why):
 * trust only ever lowers the weight the per-round guard gave, so a trainer that behaved
 * well for many rounds (a sleeper building reputation) gets no more influence than the memoryless rule gives.
 * Besides weights, distrust takes a trainer's update out of the guard's direction reference
 * (rules/guarded-mean-trust.ts): full trust only keeps the vote every update has in the memoryless guard.
 * The alignment score is FLTrust's cosine trust (Cao et al., NDSS 2021) with the honest majority's median
 * in place of a server dataset.
 *
 * The weights stay integers and public; the aggregate is the weighted mean of this round's committed updates,
 * so the zk circuit proves it once the weights are fixed. Recomputing the weights needs each trainer's trust
 * and deviation from the previous round, themselves recomputable from earlier rounds' revealed updates
 * (docs/protocol.md §8).
 */
import { difference } from "../core/updates.ts";
import { coordinateMedian } from "./guard-statistics.ts";
import type { WeightedUpdate } from "../core/updates.ts";
import { GUARDED_MEAN_DEFAULTS, MIN_UPDATES_FOR_RELATIVE_CHECKS } from "./guarded-mean.ts";
import type { GuardResult } from "./guarded-mean.ts";

export const TRAINER_TRUST_DEFAULTS = {
  /**
   * A cosine of at least this share of the group's median cosine scores 1: honest skewed trainers on
   * Dirichlet-0.5 data sit at 0.3–1 of the median in a round (bench:robust --log); below, the score falls
   * linearly to 0 at cosine 0 and to -1 at minus the share.
   */
  fullTrustShare: 0.5,
  /**
   * Persistence at or below this share of the group's median scores 0, at or above `fullPersistenceShare`
   * scores 1, linear between. Measured: honest trainers at 0.85–1.15 of the median, the adaptive attackers at
   * 0.25–0.6.
   */
  lowPersistenceShare: 0.5,
  fullPersistenceShare: 0.8,
  /**
   * Persistence says nothing when the group's median is below this (deviations that are mostly minibatch
   * noise); then only alignment scores.
   */
  minMedianPersistence: 0.2,
  /**
   * Weight of the previous fast trust when the score is higher (regaining: half-way per round). The fast
   * trust drops to a low score at once: a trainer that turns (a sleeper) loses its weight in the round it
   * turns.
   */
  memory: 0.5,
  /**
   * Pseudo-rounds of the prior in the slow trust, the mean of every score so far. A trainer rejected for
   * pointing away from the majority in its first rounds stays distrusted for about as many rounds as it spent
   * below zero, however aligned it looks later: sign flippers with skewed data are rejected in rounds 1–4 and
   * then pass the per-round test (bench:robust sign-flip, Dirichlet 0.5, --log), while an honest skewed trainer
   * has at most an odd bad round.
   */
  priorRounds: 1,
  /**
   * Below this trust an update gets the token weight 1 (it is still scored, so it can climb back). 0.6: sign flippers
   * with skewed data climb back to 0.3–0.55 by round 8 while passing every per-round test (bench:robust
   * sign-flip, Dirichlet 0.5: worst gap 10 pt at 0.25, 2.8 pt at 0.6); honest trainers sit at 0.65–1 except
   * in the rounds after one the guard rejected for direction.
   */
  minTrust: 0.6,
  /**
   * Below this claimed work share (count / median count) a trainer counts as a slow node and its scores'
   * shortfall is discounted in proportion (`workScaled`). 0.1, not 1: discounting every below-median trainer
   * (honest Dirichlet-0.5 nodes hold 0.3–1.2 × the median) let sign flippers cost 2.40 pt at 30% non-IID
   * (bench:robust sign-flip, 3 seeds) against 0.80 without; a node that did a tenth of the work or less
   * is a slow one (trainer.ts plannedSteps), not a skewed one.
   */
  slowWorkShare: 0.1,
  /** Trust of a trainer never seen before (1 = the memoryless guarded mean's weight). */
  prior: 1,
  /**
   * A trainer's record is dropped once it has not been scored (here or from a public outcome, public-outcomes.ts)
   * for this many rounds: memory stays bounded by the trainers of the last rounds, and a trainer back after
   * that long starts from the prior. 16: twice the slow trust's reach in bench:robust's 8-round runs (a sign
   * flipper's distrust lasts about as many rounds as it spent rejected), so no distrust it measures is forgotten.
   */
  forgetAfterRounds: 16,
} as const;

/** Weight of an update that passed the round's guard from a trainer trusted below `minTrust` (see `updateTrust`). */
export const DISTRUSTED_WEIGHT = 1;

export type TrainerTrustOptions = { -readonly [K in keyof typeof TRAINER_TRUST_DEFAULTS]?: number };

/** What the rule remembers about one trainer between rounds. */
export interface TrainerRecord {
  /** The trust its weight is scaled by: the smaller of the fast and slow trust. */
  readonly trust: number;
  /** Asymmetric moving average of its scores (drops at once, climbs back half-way per round). */
  readonly fast: number;
  /** Sum of its scores and its scored rounds (the slow trust is their mean with the prior). */
  readonly scoreSum: number;
  readonly rounds: number;
  /** The round it was last scored in (the caller's round numbering: the chain's round id in the node). */
  readonly lastRound: number;
  /**
   * Its update minus the round's centre (the median of the updates the guard passed), of the last round scored here; kept only for the trainers of the latest
   * round scored (one model-sized vector per trainer of one round, not per trainer ever seen).
   */
  readonly deviation?: Float32Array;
}

/**
 * The record after one more score (`deviation` only when this node saw the update): the fast trust drops to a
 * lower score at once and climbs back half-way, the slow trust is the mean of every score with the prior.
 */
export function scoredRecord(
  before: TrainerRecord | undefined,
  score: number,
  round: number,
  o: Required<TrainerTrustOptions>,
  deviation?: Float32Array,
): TrainerRecord {
  const fastBefore = before?.fast ?? o.prior;
  const fast = score < fastBefore ? score : o.memory * fastBefore + (1 - o.memory) * score;
  const scoreSum = (before?.scoreSum ?? 0) + score;
  const rounds = (before?.rounds ?? 0) + 1;
  const slow = (o.priorRounds * o.prior + scoreSum) / (o.priorRounds + rounds);
  const trust = Math.min(fast, slow);
  return deviation === undefined
    ? { trust, fast, scoreSum, rounds, lastRound: round }
    : { trust, fast, scoreSum, rounds, lastRound: round, deviation };
}

/**
 * Drops the records of trainers not scored in the last `forgetAfterRounds` rounds, and the deviation vectors
 * of trainers not scored in `round` (persistence then compares with nothing, as for a new trainer).
 */
export function pruneRecords(
  records: Map<string, TrainerRecord>,
  round: number,
  forgetAfterRounds: number,
): Map<string, TrainerRecord> {
  for (const [trainer, record] of records) {
    if (record.lastRound <= round - forgetAfterRounds) records.delete(trainer);
    else if (record.lastRound !== round && record.deviation !== undefined) {
      const { deviation: _, ...scalars } = record;
      records.set(trainer, scalars);
    }
  }
  return records;
}

/** The round after the latest one `records` holds (callers without their own round numbering). */
export function nextRound(records: ReadonlyMap<string, TrainerRecord>): number {
  let latest = 0;
  for (const r of records.values()) latest = Math.max(latest, r.lastRound);
  return latest + 1;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  return n === 0 ? 0 : n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let j = 0; j < a.length; j++) {
    ab += a[j]! * b[j]!;
    aa += a[j]! * a[j]!;
    bb += b[j]! * b[j]!;
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

const clamp = (x: number, low: number, high: number) => Math.max(low, Math.min(high, x));

/** Rejected for pointing against the majority's direction, or (sparse updates) against the last step. */
function pointsAway(update: GuardResult["updates"][number]): boolean {
  return update.reasons.includes("direction") || update.reasons.includes("history-evidence");
}

/**
 * This round's alignment score per update (see the module comment); -1 for an update the guard rejected
 * for pointing away from the majority or (sparse updates) against the last step on many coordinates, the
 * strongest evidence a round gives.
 */
export function alignmentScores(guard: GuardResult, fullTrustShare: number): number[] {
  const reference = median(guard.updates.flatMap((u, i) => (guard.rejected[i] ? [] : [u.cosine])));
  // Cosines relative to a median say nothing in small groups (one update sets much of the median) or when
  // the median cosine is near 0 (sparse top-k updates share few coordinates): the guard skips its relative
  // checks there, and so does the score (neutral 1).
  const relative =
    guard.updates.length >= MIN_UPDATES_FOR_RELATIVE_CHECKS &&
    reference >= GUARDED_MEAN_DEFAULTS.minMedianCosineForRelative;
  const full = fullTrustShare * reference;
  // The previous step is a second reference, public and fixed before this round's senders speak: a trainer aligned
  // with it (relative to the accepted updates' median cosine to it) scores as aligned, whatever its cosine to a
  // median this round's senders can drag. Measured (bench:robust guard-edge, 30% Dirichlet 0.5, seed 3, --log
  // --evidence): three attackers just under the group bound (group cosines 0.23, so they voted) dragged round 7's
  // median until an honest skewed trainer sat at cosine 0.015 to it (0.22 to the honest trainers' median, 0.15 to
  // the step, as typical as anyone's); scored 0.2, its trust fell to the token weight, the step left its classes
  // out and round 8's history test rejected it too: 4.85 pt, -1.45 with this score (count cap on). A sign flipper
  // gains nothing: its flipped update points back against the step.
  const steps = guard.updates.flatMap((u, i) =>
    guard.rejected[i] || Number.isNaN(u.historyCosine) ? [] : [u.historyCosine],
  );
  const stepReference = median(steps);
  const byStep =
    steps.length > 0 &&
    guard.updates.length >= MIN_UPDATES_FOR_RELATIVE_CHECKS &&
    stepReference >= GUARDED_MEAN_DEFAULTS.minMedianCosineForRelative;
  const fullStep = fullTrustShare * stepReference;
  return guard.updates.map((u) => {
    if (pointsAway(u)) return -1;
    if (!relative) return 1;
    const score = clamp(u.cosine / full, -1, 1);
    return byStep && !Number.isNaN(u.historyCosine)
      ? Math.max(score, clamp(u.historyCosine / fullStep, -1, 1))
      : score;
  });
}

/**
 * A score's shortfall below 1 counts in proportion to the update's claimed work (`workShare`) below
 * `slowWorkShare`: a slow node that trained a few steps of the local work (protocol/round/trainer.ts, plannedSteps) sends a small update
 * whose direction is one minibatch's, less aligned with the group's than a full update (measured: one step of
 * 52 had cosine 0.21 against 0.72–0.78, so alignment alone gave it trust 0.55, weight 0). Its influence on the
 * aggregate is its weight, at most its share of the median count, so discounting its evidence by the same
 * share gives an attacker nothing: claiming little work to escape the score buys as little influence.
 * An update rejected for pointing away from the group keeps its full score.
 */
function workScaled(score: number, update: GuardResult["updates"][number], slowWorkShare: number): number {
  if (pointsAway(update)) return score;
  return 1 - (1 - score) * Math.min(1, update.workShare / slowWorkShare);
}

export interface TrustRound {
  /** Each trainer's record after this round (trainers of earlier rounds that were absent keep theirs). */
  readonly records: Map<string, TrainerRecord>;
  /** Accepted weights after trust (integers, each at most the guard's). */
  readonly weights: number[];
  /** This round's score per update, and the persistence (NaN for a trainer without a previous round). */
  readonly scores: number[];
  readonly persistence: number[];
}

/**
 * Scores this round and updates the records: `previous` holds each trainer's record before the round,
 * `trainers` names `updates` in order and `guard` is the guarded mean's verdict on them. `round` numbers the
 * round (default: the one after the latest in `previous`); records are pruned to it (`pruneRecords`).
 */
export function updateTrust(
  previous: ReadonlyMap<string, TrainerRecord>,
  trainers: readonly string[],
  updates: readonly WeightedUpdate[],
  guard: GuardResult,
  options: TrainerTrustOptions = {},
  round: number = nextRound(previous),
): TrustRound {
  const o = { ...TRAINER_TRUST_DEFAULTS, ...options };
  // Deviations from the coordinate-wise median of the updates the guard passed, not from their weighted mean: the
  // mean is what attackers accepted at full weight in round 1 move, and every honest deviation then carries minus
  // their push. Three honest trainers with the best cosines of round 2 scored 0 on persistence and fell to the token
  // weight (bench:robust --compress adaptive-persistent, 30% Dirichlet 0.5, seed 2: 25.05 pt); at most t < n/2
  // attackers cannot move a median past the honest values. Measured after (same cell, seeds 1-3): -0.70 pt.
  const passed = updates.flatMap((_, i) => (guard.rejected[i] ? [] : [i]));
  const centre =
    updates.length === 0
      ? new Float32Array(0)
      : Float32Array.from(
          coordinateMedian(
            updates.map((u) => u.update),
            passed.length > 0 ? passed : updates.map((_, i) => i),
          ),
        );
  const deviations = updates.map((u) => difference(u.update, centre));
  const persistence = trainers.map((t, i) => {
    const before = previous.get(t)?.deviation;
    return before === undefined || before.length !== centre.length ? NaN : cosine(deviations[i]!, before);
  });
  const typical = median(persistence.filter((p, i) => !Number.isNaN(p) && !guard.rejected[i]));
  const alignment = alignmentScores(guard, o.fullTrustShare);
  const scores = alignment.map((a, i) => workScaled(scoreOf(a, i), guard.updates[i]!, o.slowWorkShare));
  function scoreOf(a: number, i: number): number {
    const p = persistence[i]!;
    if (
      Number.isNaN(p) ||
      !(typical >= o.minMedianPersistence) ||
      updates.length < MIN_UPDATES_FOR_RELATIVE_CHECKS
    )
      return a;
    const share = p / typical;
    const persistent = clamp(
      (share - o.lowPersistenceShare) / (o.fullPersistenceShare - o.lowPersistenceShare),
      0,
      1,
    );
    return Math.min(a, persistent);
  }
  const records = new Map(previous);
  const weights = trainers.map((t, i) => {
    const record = scoredRecord(previous.get(t), scores[i]!, round, o, deviations[i]!);
    records.set(t, record);
    const guardWeight = guard.acceptedWeights[i]!;
    if (guardWeight === 0) return 0;
    // Distrusted, but this round's update passed the guard: a token weight, not 0. A posted weight is evidence
    // the next aggregators fold (public-outcomes.ts: 0 scores 0), and a 0 that only carried old distrust was
    // folded as new evidence: with a rotating aggregator one zero (a lying aggregator's, or an honest trainer's
    // push lost) kept an honest trainer at weight 0 in every later round (two of five honest trainers of the
    // 60-minute soak, 2026-12-06; public-outcomes.test.ts). Weight 1 says "passed the guard" at 1/count of a
    // full weight's influence and reward.
    return record.trust < o.minTrust
      ? DISTRUSTED_WEIGHT
      : Math.max(DISTRUSTED_WEIGHT, Math.floor(guardWeight * Math.min(1, record.trust)));
  });
  return { records: pruneRecords(records, round, o.forgetAfterRounds), weights, scores, persistence };
}
