/** Defaults of capacity attestation (`/vain/1/attest/1.0.0`, service.ts), with their units and reasons. */
import { PROTOCOL_PREFIX } from "../constants.ts";

export const ATTEST_PROTOCOL = `${PROTOCOL_PREFIX}/attest/1.0.0`;

/** A whole exchange must finish within this; the workload itself is sized to ~1 s (ATTEST_TARGET_COMPUTE_MS). */
export const ATTEST_TIMEOUT_MS = 30_000;
/**
 * The verifier sizes a challenge to take about this long at the speed it expects: long enough that a WAN
 * round-trip (tens to hundreds of ms) and timer noise are small against it, short enough to stay cheap.
 */
export const ATTEST_TARGET_COMPUTE_MS = 1_000;
/**
 * Most reference samples a prover runs for one challenge: 1,024 blocks of 64 (about 1-2 s on this machine's
 * class of CPU, ~60k samples/s warm). A verifier cannot make us burn more than this per accepted challenge.
 */
export const ATTEST_MAX_SAMPLES = 65_536;
/** Challenges a prover accepts from one peer: a burst of 2, then one per minute (attesting is periodic and rare). */
export const ATTEST_PER_PEER_BURST = 2;
export const ATTEST_PER_PEER_INTERVAL_MS = 60_000;
/** Challenges a prover accepts from everyone together: a burst of 4, then one per 10 s (≤ ~10% of one core). */
export const ATTEST_GLOBAL_BURST = 4;
export const ATTEST_GLOBAL_INTERVAL_MS = 10_000;
/** Blocks a verifier recomputes (chosen after the answer): each wrong block is caught with probability k/blocks. */
export const ATTEST_CHECK_BLOCKS = 4;
/**
 * At most this share of the observed time is credited as round-trip time. The RTT is probed before the seed is
 * known, but a prover may delay its probe echo to inflate it; the cap bounds what that buys (≤ 1.33× speed).
 */
export const ATTEST_MAX_RTT_SHARE = 0.25;
/**
 * A claim above this multiple of the measured speed is an over-claim (reputation drops). Measurements of an honest
 * node vary by ±20% on an idle machine and by 2-3x when its cores are shared with other work (CI runs two test
 * files with their own nodes side by side); the claim is capped by the receipts' median anyway, so only a gross
 * exaggeration, which is an attempt to attract work, is punished.
 */
export const ATTEST_OVERCLAIM_FACTOR = 4;
/**
 * Frame cap of this protocol: an answer carries one 64-hex hash per block, ≈ 69 kB at the schema's 1,024 blocks,
 * over the 64 KiB of other control frames.
 */
export const ATTEST_MAX_FRAME_BYTES = 128 * 1024;
/** From the first probe to the challenge: probes are round trips, so a slow verifier is stalling on purpose. */
export const ATTEST_HANDSHAKE_TIMEOUT_MS = 5_000;
/** Probe round trips before the challenge; the minimum is the RTT estimate. */
export const ATTEST_PROBES = 3;
/** Receipts a prover keeps (one per verifier, newest first): the capacity record carries at most 8. */
export const ATTEST_KEPT_RECEIPTS = 8;
