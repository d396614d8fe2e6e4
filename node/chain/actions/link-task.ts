/**
 * Hierarchical rounds proven at every level (docs/protocol.md §3 "Group tasks and partials", §7): a creator
 * links a proven group task to a parent task (`commit-partial.ts` commits a group round into the parent's round).
 */
import type { Hex } from "viem";

import { trainingRoundsAbi } from "../contracts.ts";
import type { ChainWriteClient } from "./client.ts";
import { writeContractAndWait } from "./write.ts";

export interface LinkTaskParameters {
  /** The group task (proven, same chunk count as the parent, not linked before). */
  readonly childTaskId: bigint;
  readonly parentTaskId: bigint;
}

export interface LinkTaskReturnType {
  readonly childTaskId: bigint;
  readonly parentTaskId: bigint;
  readonly transactionHash: Hex;
}

/** Makes `childTaskId` a group task of `parentTaskId`; the caller created both (`InvalidLink` otherwise). */
export async function linkTask(
  client: ChainWriteClient,
  { childTaskId, parentTaskId }: LinkTaskParameters,
): Promise<LinkTaskReturnType> {
  const { hash, event } = await writeContractAndWait(client, {
    action: "task link",
    address: client.contracts.rounds,
    abi: trainingRoundsAbi,
    functionName: "linkTask",
    args: [childTaskId, parentTaskId],
    eventName: "TaskLinked",
  });
  return {
    childTaskId: event.args.childTaskId,
    parentTaskId: event.args.parentTaskId,
    transactionHash: hash,
  };
}
