/** Approves a spender for exactly the amount an action needs, when the standing allowance is short. */
import type { Address, Hex } from "viem";

import { vainTokenAbi } from "../contracts.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { readChain, writeContractAndWait } from "./write.ts";

export interface EnsureAllowanceParameters {
  /** The registry (stake) or the rounds contract (task funding, challenge bonds). */
  readonly spender: Address;
  readonly amountWei: bigint;
}

/** The approval's transaction hash, or undefined when the allowance already covered the amount. */
export type EnsureAllowanceReturnType = Hex | undefined;

/**
 * Approves `spender` for exactly `amountWei` when the allowance is short (exactly, not "infinite": no
 * standing allowance outlives the action).
 */
export async function ensureAllowance(
  client: ChainWriteClient,
  { spender, amountWei }: EnsureAllowanceParameters,
): Promise<EnsureAllowanceReturnType> {
  const allowance = await readChain(client, "read the allowance", () =>
    client.publicClient.readContract({
      address: client.contracts.token,
      abi: vainTokenAbi,
      functionName: "allowance",
      args: [accountOf(client), spender],
    }),
  );
  if (allowance >= amountWei) return undefined;
  const { hash } = await writeContractAndWait(client, {
    action: "approve",
    address: client.contracts.token,
    abi: vainTokenAbi,
    functionName: "approve",
    args: [spender, amountWei],
  });
  return hash;
}
