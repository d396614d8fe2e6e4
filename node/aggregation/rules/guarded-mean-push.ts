/**
 * Benchmark-only: the node's rule with the sustained-push test on (../silent-history.ts `pushFactor` at
 * `MEASURED_PUSH_FACTOR`), so `bench:robust --rules=guarded-mean-push` measures it beside the default. Not the
 * default: it cost sign-flip 4.65 pt at 30% Dirichlet 0.5 compressed (1.20 without it; docs/protocol.md §8).
 */
import { MEASURED_PUSH_FACTOR } from "../silent-history.ts";
import { guardedMeanTrustAggregator } from "./guarded-mean-trust.ts";
import type { AggregationRule } from "./types.ts";

export const guardedMeanPushRule: AggregationRule<"guarded-mean-push"> = {
  name: "guarded-mean-push",
  citation:
    "the guarded mean with a per-trainer sustained-push bound in silent rows (Sun et al., 'Can You Really Backdoor FL?', 2019: a backdoor needs a sustained push)",
  taskMode: false,
  provable: () => true,
  screensSingleUpdates: () => true,
  create: ({ groups }) => {
    const rule = guardedMeanTrustAggregator({
      ...(groups === undefined ? {} : { groups }),
      silent: { pushFactor: MEASURED_PUSH_FACTOR },
    });
    return { ...rule, name: "guarded-mean-push" };
  },
};
