/** Resource monitoring, anomaly detection, operator limits and bandwidth limiting. */
export {
  AnomalyDetector,
  DEFAULT_DIRECTIONS,
  DEFAULT_RESOLUTION,
  EwmaDetector,
  MessageRateTracker,
  RobustZScoreDetector,
} from "./anomaly.ts";
export type {
  AnomalyDetectorOptions,
  AnomalyEvent,
  AnomalyListener,
  AnomalyMetric,
  AnomalySubject,
  Detection,
  DetectorKind,
  EwmaOptions,
  RobustZOptions,
} from "./anomaly.ts";
export { ResourceLimitError } from "./errors.ts";
export { createRateLimiter, parseByteSize, resolveLimits, resourceLimitsSchema, throttle } from "./limits.ts";
export type {
  HostInfo,
  RateLimiter,
  RateLimiterOptions,
  ResolvedLimits,
  ResourceLimits,
  ResourceLimitsInput,
} from "./limits.ts";
export { ResourceMonitor } from "./monitor.ts";
export type {
  MeshByteCounters,
  ResourceMonitorComponents,
  ResourceMonitorInit,
  ResourceSample,
  SampleListener,
} from "./monitor.ts";
