/** Reads an operator's active stake on `StakeRegistry`. */
import type { Address } from "viem";

import { stakeRegistryAbi } from "../contracts.ts";
import type { ChainReadClient } from "./client.ts";
import { readChain } from "./write.ts";

export interface ReadActiveStakeParameters {
  readonly operator: Address;
}

/** Active (slashable, counted) stake in wei. */
export type ReadActiveStakeReturnType = bigint;

export async function readActiveStake(
  client: ChainReadClient,
  { operator }: ReadActiveStakeParameters,
): Promise<ReadActiveStakeReturnType> {
  return readChain(client, "read the active stake", () =>
    client.publicClient.readContract({
      address: client.contracts.registry,
      abi: stakeRegistryAbi,
      functionName: "activeStake",
      args: [operator],
    }),
  );
}
