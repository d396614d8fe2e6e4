/**
 * Whether a node volunteers for aggregation duty by default. The top aggregator is chosen on chain among
 * nodes that called `setAggregatorOptIn(true)`, weighted by stake; this decides the default the node applies
 * (the operator may override it). Aggregating a round means receiving many updates and, for proven rounds,
 * answering proof challenges within the answer window: a slow, weak or distrusted node risks a missed-deadline
 * slash (reason 2) and harms the round, so it should not volunteer.
 */
import type { ResolvedLimits } from "../resources/limits.ts";

/** Reputation needed to volunteer: clearly better than a newcomer (0.5), so a fresh identity cannot. */
export const OPT_IN_MIN_REPUTATION = 0.6;
/** Speed needed relative to the mesh median: a slow aggregator delays everyone. */
export const OPT_IN_MIN_RELATIVE_SPEED = 0.5;
/** Inbound bandwidth needed: 16 dense 400 kB updates (MLP) within ~4 s. */
export const OPT_IN_MIN_BANDWIDTH_BYTES_PER_SEC = 2 * 2 ** 20;

export interface OptInInput {
  readonly limits: Pick<ResolvedLimits, "aggregatorDuty" | "profile" | "bandwidthBytesPerSec">;
  readonly reputation: number;
  /** This node's attested speed and the median of the mesh's (same unit). */
  readonly samplesPerSec: number;
  readonly meshMedianSamplesPerSec: number;
}

export interface OptInDecision {
  readonly optIn: boolean;
  readonly reason: string;
}

/** The default aggregator opt-in from limits, capacity and reputation, with the reason. */
export function shouldOptInAsAggregator(input: OptInInput): OptInDecision {
  if (input.limits.profile === "low-power") return { optIn: false, reason: "low-power profile" };
  if (!input.limits.aggregatorDuty)
    return { optIn: false, reason: "aggregator duty disabled by the operator" };
  if (input.reputation < OPT_IN_MIN_REPUTATION) {
    return { optIn: false, reason: `reputation ${input.reputation.toFixed(2)} < ${OPT_IN_MIN_REPUTATION}` };
  }
  if (input.samplesPerSec < OPT_IN_MIN_RELATIVE_SPEED * input.meshMedianSamplesPerSec) {
    return { optIn: false, reason: "slower than half the mesh median" };
  }
  if (input.limits.bandwidthBytesPerSec < OPT_IN_MIN_BANDWIDTH_BYTES_PER_SEC) {
    return { optIn: false, reason: "bandwidth limit too low to receive a round's updates" };
  }
  return { optIn: true, reason: "capable and trusted" };
}
