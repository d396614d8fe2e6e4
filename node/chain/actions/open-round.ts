/** Opens a task's next round on `TrainingRounds` (docs/protocol.md §3). */
import type { Address, Hex } from "viem";

import { trainingRoundsAbi } from "../contracts.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { writeContractAndWait } from "./write.ts";

export interface OpenRoundParameters {
  readonly taskId: bigint;
}

export interface OpenRoundReturnType {
  readonly roundId: bigint;
  readonly taskId: bigint;
  readonly baseModelRef: Hex;
  /** Unix seconds (chain time). */
  readonly commitDeadline: bigint;
  readonly aggregateDeadline: bigint;
  readonly challengeDeadline: bigint;
  readonly emissionWei: bigint;
  readonly opener: Address;
  readonly transactionHash: Hex;
}

/** Opens the task's next round (anyone may, when it is due and funded); the round ID comes from the event. */
export async function openRound(
  client: ChainWriteClient,
  { taskId }: OpenRoundParameters,
): Promise<OpenRoundReturnType> {
  const { hash, event } = await writeContractAndWait(client, {
    action: "round open",
    address: client.contracts.rounds,
    abi: trainingRoundsAbi,
    functionName: "openRound",
    args: [taskId],
    eventName: "RoundOpened",
  });
  return {
    roundId: event.args.roundId,
    taskId: event.args.taskId,
    baseModelRef: event.args.baseModelRef,
    commitDeadline: event.args.commitDeadline,
    aggregateDeadline: event.args.aggregateDeadline,
    challengeDeadline: event.args.challengeDeadline,
    emissionWei: event.args.emission,
    opener: accountOf(client),
    transactionHash: hash,
  };
}
