/** Defaults of node/aggregation, each with the reason for its value. */

/**
 * A self-reported sample count above this multiple of the median count is implausible and flagged (it
 * feeds reputation). Honest non-IID nodes differ in data size (Dirichlet 0.5 over 10 nodes: ~0.5–1.2 ×
 * the median), so the factor is loose.
 */
export const SAMPLE_COUNT_FLAG_FACTOR = 3;

/**
 * No update weighs more than the median sample count: counts are unverifiable claims, so a larger claim
 * (inflated or real) buys no more influence or reward than a typical node's. Flagged counts are thereby
 * down-weighted to the median. Costs honest large nodes a little weight on non-IID data (measured in
 * bench:robust's clean rows).
 */
export const SAMPLE_COUNT_WEIGHT_CAP_FACTOR = 1;

/** The largest trim fraction the registry configures: below one half, so at least one value remains. */
export const MAX_TRIM_FRACTION = 0.49;

/** Clipping iterations from the median centre: Karimireddy et al. find a few suffice when the centre starts close. */
export const CENTERED_CLIPPING_ITERATIONS = 3;

/**
 * Bucket size for the bucketed rules: 2, the paper's usual choice (larger buckets average away more
 * heterogeneity but contaminate more buckets).
 */
export const DEFAULT_BUCKET_SIZE = 2;

/** Seed of bucketing's permutation when none is given: a run is reproducible by default. */
export const DEFAULT_BUCKETING_SEED = 1;
