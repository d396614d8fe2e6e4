/** Aggregation rules, anomaly scores, differential privacy, secure aggregation and mode validation. */
export {
  AggregationInputError,
  centeredClippingAggregator,
  clipToNorm,
  fedAvgAggregator,
  krumScores,
  l2norm,
  medianAggregator,
  multiKrumAggregator,
  normClippingAggregator,
  trimmedMeanAggregator,
} from "./rules.ts";
export type { AggregationResult, Aggregator, WeightedUpdate } from "./rules.ts";
export { AGGREGATOR_NAMES, DEFAULT_BUCKET_SIZE, bucketSizeFor, createAggregator } from "./registry.ts";
export type { AggregatorName } from "./registry.ts";
export {
  SAMPLE_COUNT_FLAG_FACTOR,
  SAMPLE_COUNT_WEIGHT_CAP_FACTOR,
  screenUpdates,
  screenedMeanAggregator,
} from "./screening.ts";
export type { ScreeningResult } from "./screening.ts";
export { bucketingAggregator } from "./bucketing.ts";
export { ANOMALY_THRESHOLDS, capSampleCounts, scoreUpdates } from "./anomaly.ts";
export type { UpdateScore } from "./anomaly.ts";
export { DEFAULT_ORDERS, RdpAccountant, privatizeUpdate, sampledGaussianRdp } from "./privacy.ts";
export {
  FixedPointError,
  SECAGG_MAX_TOTAL_WEIGHT,
  SECAGG_RING_BITS,
  aggregateFixedPoint,
  decodeFixedPoint,
  decodeWeightedSum,
  encodeFixedPoint,
  plainWeightedSum,
  ringAdd,
  ringSub,
  weightedRingVector,
} from "./fixed-point.ts";
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
