/** Capacity records and attestation, aggregator opt-in and hierarchical aggregation plans. */
export * from "./attestation.ts";
export * from "./capacity.ts";
export * from "./constants.ts";
export { SchedulingError } from "./errors.ts";
export * from "./hierarchy.ts";
export * from "./opt-in.ts";
