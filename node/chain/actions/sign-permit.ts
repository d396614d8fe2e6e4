/** Signs an EIP-2612 permit of the VAIN token (no transaction). */
import { parseSignature } from "viem";
import type { Address, Hex } from "viem";

import { vainTokenAbi } from "../contracts.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { readChain } from "./write.ts";

/** EIP-2612 typed-data types of a VainToken permit. */
export const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

export interface SignPermitParameters {
  readonly spender: Address;
  readonly amountWei: bigint;
  /** Unix seconds (chain time) after which the permit is void. */
  readonly deadline: bigint;
}

/** The signature split as `stakeWithPermit` takes it. */
export interface SignPermitReturnType {
  readonly v: number;
  readonly r: Hex;
  readonly s: Hex;
}

/**
 * Signs a permit for `spender` with the domain the token itself reports (EIP-5267), so a redeployed or
 * renamed token never gets a signature for another domain. Signing errors (a wallet without EIP-712, a
 * rejected prompt) are thrown unchanged for the caller to judge.
 */
export async function signPermit(
  client: ChainWriteClient,
  { spender, amountWei, deadline }: SignPermitParameters,
): Promise<SignPermitReturnType> {
  const owner = accountOf(client);
  const token = { address: client.contracts.token, abi: vainTokenAbi } as const;
  const [[, name, version, chainId, verifyingContract], nonce] = await readChain(
    client,
    "read the permit domain",
    () =>
      Promise.all([
        client.publicClient.readContract({ ...token, functionName: "eip712Domain" }),
        client.publicClient.readContract({ ...token, functionName: "nonces", args: [owner] }),
      ]),
  );
  const signature = await client.walletClient.signTypedData({
    account: client.walletClient.account,
    domain: { name, version, chainId, verifyingContract },
    types: PERMIT_TYPES,
    primaryType: "Permit",
    message: { owner, spender, value: amountWei, nonce, deadline },
  });
  const { v, yParity, r, s } = parseSignature(signature);
  return { v: v === undefined ? yParity + 27 : Number(v), r, s };
}
