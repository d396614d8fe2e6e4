/** Aggregation rules, update scores, secure aggregation and mode validation (trainer-side DP: node/privacy/). */
export { AggregationInputError, clipToNorm, l2norm } from "../core/updates.ts";
export type { WeightedUpdate } from "../core/updates.ts";
export type {
  AggregationContext,
  AggregationResult,
  AggregationRule,
  AggregationRuleOptions,
  Aggregator,
  RuleModeOptions,
} from "./rules/types.ts";
export { inputGroups, singletonGroups } from "./coordinate-groups.ts";
export { AGGREGATION_RULES, AGGREGATOR_NAMES, aggregationRule, createAggregator } from "./rules/index.ts";
export type { AggregatorName } from "./rules/index.ts";
export { fedAvgAggregator } from "./rules/fedavg.ts";
export { medianAggregator } from "./rules/median.ts";
export { trimmedMeanAggregator } from "./rules/trimmed-mean.ts";
export { krumByzantineCount, krumScores, multiKrumAggregator } from "./rules/krum.ts";
export { normClippingAggregator } from "./rules/norm-clipping.ts";
export { centeredClippingAggregator } from "./rules/centered-clipping.ts";
export { screenedMeanAggregator } from "./rules/screened-mean.ts";
export { guardedMeanAggregator } from "./rules/guarded-mean.ts";
export { guardedMeanTrustAggregator } from "./rules/guarded-mean-trust.ts";
export { DISTRUSTED_WEIGHT, TRAINER_TRUST_DEFAULTS, alignmentScores, updateTrust } from "./trainer-trust.ts";
export type { TrainerRecord, TrainerTrustOptions, TrustRound } from "./trainer-trust.ts";
export { GUARDED_MEAN_DEFAULTS, guardUpdates } from "./guarded-mean.ts";
export type { GuardReason, GuardResult, GuardedMeanOptions, GuardedUpdate } from "./guarded-mean.ts";
export { bucketSizeFor, bucketingAggregator } from "./rules/bucketed-centered-clipping.ts";
export { screenUpdates } from "./screening.ts";
export {
  DEFAULT_BUCKET_SIZE,
  SAMPLE_COUNT_FLAG_FACTOR,
  SAMPLE_COUNT_WEIGHT_CAP_FACTOR,
} from "./constants.ts";
export type { ScreeningResult } from "./screening.ts";
export { ANOMALY_THRESHOLDS, capSampleCounts, scoreUpdates } from "./update-scores.ts";
export type { UpdateScore } from "./update-scores.ts";
export {
  SECAGG_MAX_TOTAL_WEIGHT,
  SECAGG_RING_BITS,
  decodeWeightedSum,
  plainWeightedSum,
  ringAdd,
  ringSub,
  weightedRingVector,
} from "./secagg-ring.ts";
export {
  SecureAggregationError,
  expandMask,
  generateKeyPair,
  maskUpdate,
  pairSeed,
  reconstructSecret,
  shareSecret,
  unmaskSum,
} from "./secure-aggregation.ts";
export {
  IncompatibleModesError,
  aggregationModeSchema,
  isProvable,
  validateAggregationMode,
} from "./modes.ts";
export { foldPublicOutcome } from "./public-outcomes.ts";
export type { PublicRoundOutcome } from "./public-outcomes.ts";
