/** Capacity attestation over the mesh: the service (prover and verifier), its frames and its defaults. */
export * from "./constants.ts";
export { AttestationService } from "./service.ts";
export type { AttestationCounters, AttestationServiceEvents, AttestationServiceInit } from "./service.ts";
export { ATTEST_FRAME_SCHEMAS, isMisbehaviour } from "./wire.ts";
export type { AttestationOutcome, CapabilityAttestor } from "./wire.ts";
