/**
 * Sets the operator's commission on `StakeRegistry`: a cut applies at once, a raise after
 * `parameterChangeDelay()` (longer than the unbonding delay, so delegators can leave first).
 */
import type { Address, Hex } from "viem";

import { stakeRegistryAbi } from "../contracts.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { readCommission } from "./read-commission.ts";
import type { ReadCommissionReturnType } from "./read-commission.ts";
import { writeContractAndWait } from "./write.ts";

export interface SetCommissionParameters {
  /** Basis points, at most `MAX_COMMISSION_BPS` (5,000). */
  readonly bps: bigint;
}

export interface SetCommissionReturnType extends ReadCommissionReturnType {
  readonly operator: Address;
  readonly transactionHash: Hex;
}

export async function setCommission(
  client: ChainWriteClient,
  { bps }: SetCommissionParameters,
): Promise<SetCommissionReturnType> {
  const operator = accountOf(client);
  const { hash } = await writeContractAndWait(client, {
    action: "set commission",
    address: client.contracts.registry,
    abi: stakeRegistryAbi,
    functionName: "setCommission",
    args: [bps],
  });
  return { operator, ...(await readCommission(client, { operator })), transactionHash: hash };
}
