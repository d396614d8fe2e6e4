/** Sends VAIN from the signing account (the local faucet, operator set-up in tests and benches). */
import type { Address, Hex } from "viem";

import { vainTokenAbi } from "../contracts.ts";
import type { ChainWriteClient } from "./client.ts";
import { writeContractAndWait } from "./write.ts";

export interface TransferTokensParameters {
  readonly to: Address;
  readonly amountWei: bigint;
}

export interface TransferTokensReturnType {
  readonly to: Address;
  readonly amountWei: bigint;
  readonly transactionHash: Hex;
}

export async function transferTokens(
  client: ChainWriteClient,
  { to, amountWei }: TransferTokensParameters,
): Promise<TransferTokensReturnType> {
  const { hash } = await writeContractAndWait(client, {
    action: "transfer",
    address: client.contracts.token,
    abi: vainTokenAbi,
    functionName: "transfer",
    args: [to, amountWei],
    eventName: "Transfer",
  });
  return { to, amountWei, transactionHash: hash };
}
