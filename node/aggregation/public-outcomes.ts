/**
 * Trainer trust from public round outcomes: the weights other aggregators posted on chain.
 *
 * The trust records (trainer-trust.ts) are scored from the revealed updates of the rounds this node
 * aggregated. When the aggregator rotates, the rounds another node aggregated would otherwise be lost to it.
 * Their outcome is public: every finalized round's trainers and accepted weights are on chain (`getRound`),
 * so anyone folds them in the same way. A posted weight of 0 for a committed trainer (its update rejected by the
 * guard, or withheld) scores 0; any positive weight scores 1: the update passed the round's guard, including the
 * token weight 1 of a distrusted trainer (trainer-trust.ts `DISTRUSTED_WEIGHT`), so distrust is not posted as
 * fresh evidence and cannot feed itself from aggregator to aggregator. 0, not the -1 a direction rejection scores
 * here: the chain does not say why, and a lying aggregator can zero honest trainers. What that costs an honest
 * trainer is bounded: its fast trust drops to 0 and climbs back half-way per round, so the next honest aggregator
 * gives it the token weight for one round (trust 0.5 < 0.6), which the one after folds as 1, and full weight from
 * the round after; the slow trust of a trainer with k good rounds only falls to (k + 1) / (k + 2).
 * A round this node already scored itself (it aggregated it) is not folded again.
 */
import { TRAINER_TRUST_DEFAULTS, pruneRecords, scoredRecord } from "./trainer-trust.ts";
import type { TrainerRecord, TrainerTrustOptions } from "./trainer-trust.ts";

/** One finalized round as the chain reports it. */
export interface PublicRoundOutcome {
  /** Its number in the records' numbering (the chain's round id in the node). */
  readonly round: number;
  readonly trainers: readonly string[];
  /** Posted accepted weights, in the order of `trainers`. */
  readonly weights: readonly (bigint | number)[];
  /**
   * The round's revealed updates, in the order of `trainers`, each checked against its trainer's commitment:
   * every update the aggregator screened (its announced list), rejected ones included, undefined for a trainer
   * whose update it did not screen. Absent when the node does not hold them all; rules with memories computed
   * from the updates (silent-history.ts) then fold only the weights.
   */
  readonly updates?: readonly (Float32Array | undefined)[];
}

/** `records` with `outcome` folded in (a new map; trainers already scored for that round keep theirs). */
export function foldPublicOutcome(
  records: ReadonlyMap<string, TrainerRecord>,
  outcome: PublicRoundOutcome,
  options: TrainerTrustOptions = {},
): Map<string, TrainerRecord> {
  const o = { ...TRAINER_TRUST_DEFAULTS, ...options };
  const out = new Map(records);
  outcome.trainers.forEach((trainer, i) => {
    const key = trainer.toLowerCase();
    const before = out.get(key);
    if (before !== undefined && before.lastRound >= outcome.round) return;
    const score = Number(outcome.weights[i] ?? 0) > 0 ? 1 : 0;
    out.set(key, scoredRecord(before, score, outcome.round, o));
  });
  return pruneRecords(out, outcome.round, o.forgetAfterRounds);
}
