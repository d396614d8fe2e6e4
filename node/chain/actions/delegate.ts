/**
 * Delegates VAIN to an operator on `StakeRegistry` (docs/incentives.md) through `spendWithPermit`: one
 * EIP-2612 permit and `delegateWithPermit` (one transaction), approve + delegate when a permit cannot be used,
 * a plain `delegate` when an allowance already covers the amount; a failed delegation leaves no allowance. The commission limit defaults to what the operator
 * charges now or has queued, so a raise queued between reading and sending makes the transaction revert
 * (`CommissionAboveLimit`) instead of binding the delegator to it.
 */
import type { Address, Hex } from "viem";

import { stakeRegistryAbi } from "../contracts.ts";
import { NonPositiveAmountError } from "../errors.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { readCommission } from "./read-commission.ts";
import { spendWithPermit } from "./spend-with-permit.ts";
import type { StakeMethod } from "./spend-with-permit.ts";
import { writeContractAndWait } from "./write.ts";

export interface DelegateParameters {
  readonly operator: Address;
  readonly amountWei: bigint;
  /** Highest commission (basis points, now or pending) accepted; default: the operator's current worst. */
  readonly maxCommissionBps?: bigint;
  /** Try a permit first (default true); false forces approve + delegate. */
  readonly usePermit?: boolean;
  /** As in `stake`: whether a failed permit signature falls back to approve + delegate. */
  readonly fallBackAfterSigningError?: (error: unknown) => boolean;
}

export interface DelegateReturnType {
  readonly delegator: Address;
  readonly operator: Address;
  readonly amountWei: bigint;
  readonly shares: bigint;
  /** Commission limit the transaction carried. */
  readonly maxCommissionBps: bigint;
  readonly method: StakeMethod;
  readonly transactionHashes: readonly Hex[];
}

/** Delegates `amountWei` to `operator` (see `spendWithPermit` for how the tokens move). */
export async function delegate(
  client: ChainWriteClient,
  parameters: DelegateParameters,
): Promise<DelegateReturnType> {
  const { operator, amountWei } = parameters;
  if (amountWei <= 0n) throw new NonPositiveAmountError("delegate");
  const { registry } = client.contracts;
  const delegator = accountOf(client);
  let maxCommissionBps = parameters.maxCommissionBps;
  if (maxCommissionBps === undefined) {
    const c = await readCommission(client, { operator });
    maxCommissionBps = c.pendingBps > c.currentBps ? c.pendingBps : c.currentBps;
  }
  const limit = maxCommissionBps;
  const call = {
    action: "delegate",
    address: registry,
    abi: stakeRegistryAbi,
    eventName: "Delegated",
  } as const;
  const { method, transactionHashes, outcome } = await spendWithPermit(client, {
    amountWei,
    usePermit: parameters.usePermit,
    fallBackAfterSigningError: parameters.fallBackAfterSigningError,
    plain: () =>
      writeContractAndWait(client, { ...call, functionName: "delegate", args: [operator, amountWei, limit] }),
    withPermit: ({ deadline, v, r, s }) =>
      writeContractAndWait(client, {
        ...call,
        functionName: "delegateWithPermit",
        args: [operator, amountWei, limit, deadline, v, r, s],
      }),
  });
  return {
    delegator,
    operator,
    amountWei,
    shares: outcome.event.args.shares,
    maxCommissionBps: limit,
    method,
    transactionHashes,
  };
}
