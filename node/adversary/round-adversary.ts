/**
 * How an adversarial node departs from the round protocol (demo, tests and benches only; no CLI flag reaches
 * it). The round roles call these hooks at the points where a Byzantine node could lie; the honest node's
 * hooks are identities (`HONEST_ADVERSARY`). Each behaviour is one file in this folder; `index.ts` composes
 * the ones a node's switches turn on.
 */
import type { Hex } from "viem";

import type { PartialAggregate } from "../protocol/hierarchy.ts";
import type { Dataset } from "../training/data/dataset.ts";

/** The switches the demo and the tests set per node (read at every call, so a test may flip one mid-run). */
export interface AdversarialBehaviour {
  /** Post a biased aggregate and never answer its challenges. */
  readonly cheatAggregate?: boolean;
  /**
   * Train on poisoned data: `backdoor` adds copies of part of the local data carrying a trigger patch relabelled
   * to the target class (backdoor.ts), so the update it sends is an honestly computed one on poisoned data.
   */
  readonly poisonData?: "backdoor";
  /** Send a poisoned update: the sign flipped (×−4, the demo's magnitude) or boosted (×10). */
  readonly poison?: "sign-flip" | "scaled";
  /** With `cheatAggregate`: answer challenges with a proof over made-up trainer values (a false statement). */
  readonly lieInProof?: boolean;
  /** As a sub-aggregator, send biased partial aggregates (hierarchical rounds). */
  readonly cheatPartial?: boolean;
  /** As aggregator, bias only this chunk of the aggregate and answer the other chunks' challenges honestly. */
  readonly corruptChunk?: number;
  /** As aggregator, bias this fraction (0–1] of the aggregate's chunks, chosen at random per aggregate. */
  readonly corruptFraction?: number;
  /** As a trainer, commit and never deliver the update (nor announce or replicate it). */
  readonly withholdUpdate?: boolean;
  /** As a trainer, also sign and announce a second, different commitment for the same round. */
  readonly equivocate?: boolean;
  /** As aggregator, post the aggregate and never serve, announce or push its bytes. */
  readonly withholdAggregate?: boolean;
  /**
   * As a proven round's aggregator, post and announce as usual but push none of the round's updates to seeds
   * (update-relay.ts): the watchers must fetch them from their trainers and holders in time.
   */
  readonly seedNobody?: boolean;
}

/** The points of the round protocol where an adversary acts. */
export interface RoundAdversary {
  /** The data a trainer trains on this round (data poisoning). */
  trainingData(data: Dataset): Dataset;
  /** A trainer's raw update (local − base), before privacy noise, clipping and compression. */
  transformUpdate(delta: Float32Array): Float32Array;
  /** The flat fixed-point aggregate, before it is applied to the model and committed. May change it in place. */
  transformAggregate(aggregate: Uint16Array): Uint16Array;
  /** A sub-aggregator's partial, before it is merged upward or sent to its parent. */
  transformPartial(partial: PartialAggregate): PartialAggregate;
  /** Whether the aggregator answers the challenges of its aggregate. */
  answersChallenges(): boolean;
  /** The trainer values an answer's zk proof is computed over (the honest node proves the real ones). */
  proofWitness(updates: readonly Uint16Array[], aggregate: Uint16Array): readonly Uint16Array[];
  /** Whether the trainer keeps its committed update to itself. */
  withholdsUpdate(): boolean;
  /** A second commitment the trainer signs besides `commitment` for the same round, if it equivocates. */
  equivocation(commitment: Hex): Hex | undefined;
  /** Whether the aggregator keeps its posted aggregate's bytes to itself. */
  withholdsAggregate(): boolean;
  /** Whether a proven round's aggregator hands its round's updates to seeds after posting. */
  seedsUpdates(): boolean;
}

/** The honest node: every hook leaves the protocol's values as they are. */
export const HONEST_ADVERSARY: RoundAdversary = {
  trainingData: (data) => data,
  transformUpdate: (delta) => delta,
  transformAggregate: (aggregate) => aggregate,
  transformPartial: (partial) => partial,
  answersChallenges: () => true,
  proofWitness: (updates) => updates,
  withholdsUpdate: () => false,
  equivocation: () => undefined,
  withholdsAggregate: () => false,
  seedsUpdates: () => true,
};
