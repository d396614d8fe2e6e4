/** Aggregation rules, anomaly scores, differential privacy, secure aggregation and mode validation. */
export {
  AggregationInputError,
  centeredClippingAggregator,
  clipToNorm,
  createAggregator,
  fedAvgAggregator,
  krumScores,
  l2norm,
  medianAggregator,
  multiKrumAggregator,
  normClippingAggregator,
  trimmedMeanAggregator,
} from "./rules.ts";
export type { AggregationResult, Aggregator, AggregatorName, WeightedUpdate } from "./rules.ts";
export { ANOMALY_THRESHOLDS, capSampleCounts, scoreUpdates } from "./anomaly.ts";
export type { UpdateScore } from "./anomaly.ts";
export { DEFAULT_ORDERS, RdpAccountant, privatizeUpdate, sampledGaussianRdp } from "./privacy.ts";
export { FIXED_POINT_SCALE, FixedPointRangeError, decodeFixed, encodeFixed } from "./fixed-point.ts";
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
