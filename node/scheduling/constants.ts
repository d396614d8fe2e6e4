/**
 * Scheduling defaults, each with the reason for its value.
 */

/** Attestation workload: 16 blocks × 64 samples of a 64-64-10 MLP SGD step ≈ 30 MFLOP, tens of ms in JS. */
export const ATTESTATION_BLOCKS = 16;
export const ATTESTATION_BLOCK_SAMPLES = 64;
/** Layer widths of the attestation MLP: big enough to be compute-bound, small enough to verify cheaply. */
export const ATTESTATION_LAYERS = [64, 64, 10] as const;
/** A challenge must be answered within this time or it is void (stops a prover from buying time offline). */
export const ATTESTATION_MAX_AGE_MS = 60_000;
/** Measured speed may exceed the verifier-observed bound by this much (timer resolution, scheduling noise). */
export const ATTESTATION_SPEED_TOLERANCE = 0.1;

/** A capacity record is re-issued at least this often; older ones are ignored (hardware and load change). */
export const CAPACITY_RECORD_TTL_MS = 24 * 3600 * 1000;
/** Receipts older than this no longer count toward a node's attested capacity. */
export const RECEIPT_MAX_AGE_MS = 24 * 3600 * 1000;
/** Most receipts a record may carry (bounds gossip size; the median of a few independent verifiers suffices). */
export const MAX_RECEIPTS = 8;

/**
 * Deadline slack: a node's expected time × 1.5 + fixed overhead. Measured speeds vary ±20% run to run on a
 * shared machine, so 1.5 covers noise without waiting long for a real straggler.
 */
export const DEADLINE_SLACK = 1.5;
/** Per-node fixed overhead for fetching the model, compressing and uploading the update. */
export const DEADLINE_OVERHEAD_MS = 2_000;
/** The round proceeds once this share of the assigned work has arrived (and the deadline has passed). */
export const DEFAULT_QUORUM = 0.6;
/** Largest share of a round any single node gets, so one node's failure never costs more than this. */
export const MAX_SHARE = 0.25;
/**
 * Sub-aggregator fan-in: the on-chain cap of trainers per round (`maxTrainersPerRound` ≤ 16) and the
 * loopback measurement of 10 × 4 MiB fan-in in ~1 s (FACTS.md) both point at ~16.
 */
export const DEFAULT_MAX_FAN_IN = 16;
