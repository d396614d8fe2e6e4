/**
 * Parameters shared by the circuit (circuits/aggregate.circom) and the node. Changing any of them needs a
 * new circuit, a new trusted setup and new artifacts (scripts/zk-setup.ts).
 */

/** Trainers per proof (the circuit's fan-in); rounds with fewer trainers pad with weight-0 slots. */
export const PROOF_TRAINERS = 8;
/** Parameters per chunk. */
export const CHUNK_SIZE = 64;
/** Bits per committed value (offset fixed point). */
export const VALUE_BITS = 16;
/** Fractional bits: values are committed at a resolution of 2^-12 ≈ 2.4e-4 in [-8, 8). */
export const FRACTION_BITS = 12;
/** Offset making values non-negative: u = round(x · 2^FRACTION_BITS) + VALUE_OFFSET. */
export const VALUE_OFFSET = 2 ** (VALUE_BITS - 1);
/** Bits per weight (accepted sample count): at most 65,535 samples per trainer per round. */
export const WEIGHT_BITS = 16;
export const MAX_WEIGHT = 2 ** WEIGHT_BITS - 1;
/** Values packed per field element before hashing (PACK · VALUE_BITS <= 253). */
export const VALUES_PER_FIELD = Math.floor(253 / VALUE_BITS);
/** BN254 scalar field order. */
export const FIELD_ORDER = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** Trainers per link of a chained proof (circuits/aggregate-link.circom K, LinkAggregationVerifier): rounds
 * of a proven task with more trainers than PROOF_TRAINERS are proven in ceil(N / 4) links per chunk. K = 4
 * (14,558 constraints) fits the committed 2^14 powers of tau; K = 8 at C = 64 (20,149) would need 2^15. */
export const LINK_TRAINERS = 4;
/** A chain has fewer than 2^10 = 1,024 trainers (bounds its running sums and total weight). */
export const LINK_COUNT_BITS = 10;

/**
 * The prover thread (prover-thread.ts) is kept between proofs: a thread per proof left each proof's isolate,
 * WASM engine and malloc arenas behind in the process's RSS. It is replaced after this many jobs anyway, so any
 * growth inside it (V8 heap, the curve's WASM memory, which never shrinks) stays bounded.
 */
export const PROVER_THREAD_MAX_JOBS = 200;
/**
 * An idle prover thread ends after this long (ms): a node that proves (an aggregator answers about one challenge
 * a round, ~45 s in the soak) keeps its thread; one that does not gets back the ~60-100 MB a thread holds.
 */
export const PROVER_THREAD_IDLE_MS = 600_000;
