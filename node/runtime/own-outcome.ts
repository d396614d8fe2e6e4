/**
 * This node's own standing from the public outcome of each finished round it trained in. The default aggregator
 * opt-in needs a reputation of 0.6 in the node's own book (scheduling/opt-in.ts), and the book used to hear of
 * an update's fate only from the rounds this node aggregated itself (`onAggregated`). So after the bootstrapping
 * draw among trainers, the first node drawn credited itself, volunteered, was from then on the only candidate and
 * was drawn every round (the soak's spared node aggregated none of its first 50 rounds); and an operator who
 * opts in by hand held the duty alone beside it. The posted weights are on chain for everyone (`getRound`, or
 * the weight tree's leaves): a weight above 0 in a finalized round is the round's acceptance of this node's
 * update, whoever aggregated, and credits it like an aggregator's own decision does.
 *
 * Only the node's own entry is fed this way, and only with credit. Other operators' entries stay on facts this
 * node checked itself: a posted weight is an aggregator's word, and a lying aggregator could otherwise raise its
 * sybils' standing in every node's book. A weight of 0 for this node is not taken either: an aggregator that
 * zeroes honest trainers would then push them out of the candidates one by one, and raise its own share of the
 * draw with every round it aggregates. A node knows better than any aggregator whether it sent what it trained;
 * its own score only decides whether it volunteers, and the checks of speed, proofs and disk still apply.
 */
import type { Address, PublicClient } from "viem";

import { RoundState } from "../chain/contracts.ts";
import type { RoundOutcome, RoundView } from "../protocol/round/index.ts";
import { postedWeights } from "../protocol/round/weight-claims.ts";
import type { ReputationEvent } from "../reputation/index.ts";

export interface OwnOutcomeComponents {
  readonly publicClient: PublicClient;
  readonly rounds: Address;
  readonly operator: Address;
  /** Where the event goes (the node's reputation book). */
  apply(event: ReputationEvent): void;
}

/**
 * Credits this node's operator for finished round `roundId` if it trained in it, the round finalized and its
 * posted weight is above 0; returns the event applied, or undefined when nothing was applied.
 */
export async function foldOwnOutcome(
  components: OwnOutcomeComponents,
  roundId: bigint,
  round: Pick<RoundView, "state" | "trainers" | "weights" | "posted">,
): Promise<ReputationEvent | undefined> {
  // A failed round's weights (if any were posted) are not an outcome: its aggregator failed, not its trainers.
  if (round.state !== RoundState.Finalized) return undefined;
  const me = components.operator.toLowerCase();
  const index = round.trainers.findIndex((t) => t.toLowerCase() === me);
  if (index < 0) return undefined;
  const weights = await postedWeights(components.publicClient, components.rounds, roundId, round);
  const weight = weights[index];
  if (weight === undefined || weight === 0n) return undefined;
  const event: ReputationEvent = { kind: "update-accepted", operator: me as `0x${string}` };
  components.apply(event);
  return event;
}

/**
 * `RoundHistoryRecorder`'s `onFinished` for this node: folds its own outcome of each finished round, except of a
 * round it aggregated, where `onAggregated` credited every trainer already, itself included.
 */
export function ownOutcomeFolder(
  components: OwnOutcomeComponents,
): (roundId: bigint, round: RoundView, role: RoundOutcome["role"] | undefined) => Promise<void> {
  return async (roundId, round, role) => {
    if (role !== "aggregator") await foldOwnOutcome(components, roundId, round);
  };
}
