/** Capacity records and attestation, work assignment, straggler handling and hierarchical aggregation plans. */
export * from "./assign.ts";
export * from "./attestation.ts";
export * from "./capacity.ts";
export * from "./constants.ts";
export { SchedulingError } from "./errors.ts";
export * from "./hierarchy.ts";
export * from "./opt-in.ts";
export * from "./simulate.ts";
