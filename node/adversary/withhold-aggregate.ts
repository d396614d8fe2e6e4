/**
 * A withholding aggregator: posts its aggregate's commitment and never serves, announces or pushes the bytes
 * (or an honest one that crashed right after posting). Nobody can fetch the aggregate, so every node rebuilds
 * it from the round's committed updates (round/aggregate-from-updates.ts) and checks it against the posted
 * commitment: a withheld aggregate costs the network a recomputation, not the task.
 */
import type { RoundAdversary } from "./round-adversary.ts";

export function withholdAggregate(): Pick<RoundAdversary, "withholdsAggregate"> {
  return { withholdsAggregate: () => true };
}
