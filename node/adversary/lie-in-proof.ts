/**
 * A lying aggregator (with `cheatAggregate`): answers challenges with a valid zk proof over made-up trainer
 * values — every trainer "sent" the biased aggregate. The chain accepts the answer optimistically; its
 * statement claims chunk hashes the trainers never committed, and the trainers, who hold their updates,
 * dispute it (docs/protocol.md §5).
 */
import type { RoundAdversary } from "./round-adversary.ts";

export function lieInProof(): Pick<RoundAdversary, "answersChallenges" | "proofWitness"> {
  return {
    answersChallenges: () => true,
    proofWitness: (updates, aggregate) => updates.map(() => aggregate),
  };
}
