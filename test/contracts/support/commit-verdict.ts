/**
 * What the contract says to a trainer's `commitUpdate` into a round, without sending it: "accepted", or the
 * simulation's error text (which names the custom error: `NotGroupMember`, `PartialsOnly`, ...).
 */
import type { Account, Address, Chain, Hex, PublicClient, Transport } from "viem";

import { trainingRoundsAbi } from "../../../node/chain/contracts.ts";

export async function commitVerdict(
  publicClient: PublicClient<Transport, Chain>,
  rounds: Address,
  account: Account,
  roundId: bigint,
): Promise<string> {
  return publicClient
    .simulateContract({
      account,
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "commitUpdate",
      args: [roundId, ("0x" + "cd".repeat(32)) as Hex, 100n],
    })
    .then(
      () => "accepted",
      (error: unknown) => String(error),
    );
}
