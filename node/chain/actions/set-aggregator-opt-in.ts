/**
 * Opts the operator in or out of aggregator selection for one task's rounds on `TrainingRounds` (docs/protocol.md
 * §3): a round draws only among its own task's volunteers.
 */
import type { Address, Hex } from "viem";

import { trainingRoundsAbi } from "../contracts.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { writeContractAndWait } from "./write.ts";

export interface SetAggregatorOptInParameters {
  /** The task whose rounds the operator volunteers to aggregate (the one its node follows). */
  readonly taskId: bigint;
  /** True to become a candidate (needs active stake), false to leave the list. */
  readonly optIn: boolean;
}

export interface SetAggregatorOptInReturnType {
  readonly operator: Address;
  readonly taskId: bigint;
  readonly optedIn: boolean;
  readonly transactionHash: Hex;
}

export async function setAggregatorOptIn(
  client: ChainWriteClient,
  { taskId, optIn }: SetAggregatorOptInParameters,
): Promise<SetAggregatorOptInReturnType> {
  const { hash } = await writeContractAndWait(client, {
    action: optIn ? "aggregator opt-in" : "aggregator opt-out",
    address: client.contracts.rounds,
    abi: trainingRoundsAbi,
    functionName: "setAggregatorOptIn",
    args: [taskId, optIn],
  });
  return { operator: accountOf(client), taskId, optedIn: optIn, transactionHash: hash };
}
