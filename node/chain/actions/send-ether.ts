/** Sends ETH for gas from the signing account (the local faucet, operator set-up in tests and benches). */
import type { Address, Hex } from "viem";

import type { ChainWriteClient } from "./client.ts";
import { sendAndWait } from "./write.ts";

export interface SendEtherParameters {
  readonly to: Address;
  readonly amountWei: bigint;
}

export interface SendEtherReturnType {
  readonly to: Address;
  readonly amountWei: bigint;
  readonly transactionHash: Hex;
}

export async function sendEther(
  client: ChainWriteClient,
  { to, amountWei }: SendEtherParameters,
): Promise<SendEtherReturnType> {
  const { hash } = await sendAndWait(client, "send ETH", () =>
    client.walletClient.sendTransaction({
      account: client.walletClient.account,
      chain: client.walletClient.chain,
      to,
      value: amountWei,
    }),
  );
  return { to, amountWei, transactionHash: hash };
}
