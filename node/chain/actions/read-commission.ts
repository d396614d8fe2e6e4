/** Reads an operator's commission on `StakeRegistry`: what applies now and any queued raise. */
import type { Address } from "viem";

import { stakeRegistryAbi } from "../contracts.ts";
import type { ChainReadClient } from "./client.ts";
import { readChain } from "./write.ts";

export interface ReadCommissionParameters {
  readonly operator: Address;
}

export interface ReadCommissionReturnType {
  /** Basis points applying now. */
  readonly currentBps: bigint;
  /** Basis points of a queued raise (0 when none). */
  readonly pendingBps: bigint;
  /** Unix seconds (chain time) when the raise applies (0 when none). */
  readonly effectiveAt: bigint;
}

export async function readCommission(
  client: ChainReadClient,
  { operator }: ReadCommissionParameters,
): Promise<ReadCommissionReturnType> {
  const [currentBps, pendingBps, effectiveAt] = await readChain(client, "read the commission", () =>
    client.publicClient.readContract({
      address: client.contracts.registry,
      abi: stakeRegistryAbi,
      functionName: "commissionOf",
      args: [operator],
    }),
  );
  return { currentBps, pendingBps, effectiveAt: BigInt(effectiveAt) };
}
