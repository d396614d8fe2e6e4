/** Opts the operator in or out of aggregator selection on `TrainingRounds` (docs/protocol.md §3). */
import type { Address, Hex } from "viem";

import { trainingRoundsAbi } from "../contracts.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { writeContractAndWait } from "./write.ts";

export interface SetAggregatorOptInParameters {
  /** True to become a candidate (needs active stake), false to leave the list. */
  readonly optIn: boolean;
}

export interface SetAggregatorOptInReturnType {
  readonly operator: Address;
  readonly optedIn: boolean;
  readonly transactionHash: Hex;
}

export async function setAggregatorOptIn(
  client: ChainWriteClient,
  { optIn }: SetAggregatorOptInParameters,
): Promise<SetAggregatorOptInReturnType> {
  const { hash } = await writeContractAndWait(client, {
    action: optIn ? "aggregator opt-in" : "aggregator opt-out",
    address: client.contracts.rounds,
    abi: trainingRoundsAbi,
    functionName: "setAggregatorOptIn",
    args: [optIn],
  });
  return { operator: accountOf(client), optedIn: optIn, transactionHash: hash };
}
