/**
 * Hierarchical rounds proven at every level (docs/protocol.md §3 "Group tasks and partials", §7): the aggregator
 * of a finalized group round commits its aggregate into the parent task's open round as that round's trainer.
 */
import type { Address, Hex } from "viem";

import { trainingRoundsAbi } from "../contracts.ts";
import type { ChainWriteClient } from "./client.ts";
import { writeContractAndWait } from "./write.ts";

export interface CommitPartialParameters {
  /** The parent task's open round. */
  readonly roundId: bigint;
  /** The finalized group round the caller aggregated. */
  readonly groupRoundId: bigint;
}

export interface CommitPartialReturnType {
  readonly roundId: bigint;
  readonly groupRoundId: bigint;
  readonly leader: Address;
  /** The group round's posted weights' sum, and the right shift that fit it under the sample cap. */
  readonly groupWeight: bigint;
  readonly shift: number;
  readonly transactionHash: Hex;
}

/** Commits a finalized group round's aggregate into its parent task's open round as the caller's update. */
export async function commitPartial(
  client: ChainWriteClient,
  { roundId, groupRoundId }: CommitPartialParameters,
): Promise<CommitPartialReturnType> {
  const { hash, event } = await writeContractAndWait(client, {
    action: "partial commit",
    address: client.contracts.rounds,
    abi: trainingRoundsAbi,
    functionName: "commitPartial",
    args: [roundId, groupRoundId],
    eventName: "PartialCommitted",
  });
  return {
    roundId: event.args.roundId,
    groupRoundId: event.args.groupRoundId,
    leader: event.args.leader,
    groupWeight: event.args.groupWeight,
    shift: event.args.shift,
    transactionHash: hash,
  };
}
