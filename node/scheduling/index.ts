/** Capacity records and attestation, aggregator opt-in and hierarchical aggregation plans. */
export * from "./attestation.ts";
export * from "./capacity-records.ts";
export * from "./constants.ts";
export * from "./deadline.ts";
export { SchedulingError } from "./errors.ts";
export * from "./aggregation-plan.ts";
export * from "./opt-in.ts";
