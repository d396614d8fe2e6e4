/**
 * The node's own aggregations feed reputation: every update it accepted or rejected as aggregator is evidence
 * for or against the trainer's operator, and a sub-aggregator whose partial did not open consistently with the
 * trainers' commitments lied (`proof-failed`). Only facts this node checked itself; other aggregators' decisions
 * reach reputation through the posted outcomes (node/runtime/own-outcome.ts, public-outcomes.ts).
 */
import type { Address } from "viem";

import type { ParticipantEvents } from "../protocol/round/index.ts";
import type { Operator, ReputationEvent } from "../reputation/index.ts";

const operatorOf = (address: Address | string): Operator => address.toLowerCase() as Operator;

/** Round-participant events that apply their evidence through `apply` (a book that may not be open yet). */
export function roundEventsToReputation(apply: (event: ReputationEvent) => void): ParticipantEvents {
  return {
    onAggregated: (_roundId, accepted, rejected) => {
      for (const operator of accepted) apply({ kind: "update-accepted", operator: operatorOf(operator) });
      for (const operator of rejected) apply({ kind: "update-rejected", operator: operatorOf(operator) });
    },
    onPartialRejected: (_roundId, operator) =>
      apply({ kind: "proof-failed", operator: operatorOf(operator) }),
  };
}
