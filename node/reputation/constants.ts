/**
 * Weights of the reputation model (node/reputation/book.ts). Reputation is a Beta(good, bad) estimate of
 * "this operator behaves", so each weight is "how many ordinary good rounds this event is worth".
 */

/** Prior pseudo-counts: a newcomer starts at 0.5 and moves quickly with its first rounds. */
export const PRIOR_GOOD = 1;
export const PRIOR_BAD = 1;

/** Evidence halves every week: an operator can recover from old mistakes, and old merit does not last forever. */
export const DEFAULT_HALF_LIFE_MS = 7 * 24 * 3600 * 1000;

/** An accepted update is the unit of good behaviour (scaled down by its anomaly score). */
export const WEIGHT_ACCEPTED = 1;
/** A rejected update costs two good rounds: rejection means robust aggregation judged it harmful or useless. */
export const WEIGHT_REJECTED = 2;
/** A missed deadline (straggler or absent aggregator) costs one round: it wastes others' time, not their model. */
export const WEIGHT_DEADLINE_MISSED = 1;
/** An answered proof challenge is worth two rounds: it is costly and proves correct aggregation. */
export const WEIGHT_PROOF_ANSWERED = 2;
/** A failed or unanswered proof is a wrong aggregate: nearly as bad as the slash that follows it. */
export const WEIGHT_PROOF_FAILED = 10;
/** A slash is proven misbehaviour on chain: it takes many half-lives of good work to recover. */
export const WEIGHT_SLASHED = 20;
/** A behavioural anomaly (latency, message rate, norm jump) is weak evidence: at most half a round. */
export const WEIGHT_ANOMALY = 0.5;

/**
 * Mesh protocol violations (node/p2p/abuse.ts) worth the abuse threshold together (100 points: the peer is
 * refused) cost as much as a failed proof's half: they are checked facts (invalid gossip it authored, blobs
 * failing their hash, streams over its rates), but only about traffic, not about the model.
 */
export const WEIGHT_PROTOCOL_VIOLATIONS = 5;
/**
 * A peer refused for abuse (ABUSIVE) costs as much again: with its violations, a newcomer operator ends at
 * (0 + 1) / (10 + 2) ≈ 0.08 — below `MIN_SCHEDULING_REPUTATION` and the mesh's prune rank (0.3), so its
 * other peers yield their slots first and are dropped above the target degree, for as long as the evidence
 * lasts (weeks), while the admission refusal itself lasts 10 minutes.
 */
export const WEIGHT_ABUSE_REFUSAL = 5;

/** A passed capacity attestation is weak good evidence: it costs the prover little and proves only speed. */
export const WEIGHT_ATTESTATION_PASSED = 0.25;
/**
 * A wrong attestation result is deliberate (the workload is deterministic): as bad as a rejected update, and
 * repeated by every verifier the cheater meets.
 */
export const WEIGHT_ATTESTATION_FAILED = 3;
/** Claiming more speed than measured skews work assignment toward the liar: one rejected update's worth. */
export const WEIGHT_ATTESTATION_OVERCLAIM = 2;

/** Below this score a node is not offered aggregation duty and gets no work share in scheduling. */
export const MIN_SCHEDULING_REPUTATION = 0.2;
