/**
 * Delegates VAIN to an operator on `StakeRegistry` (docs/incentives.md): one EIP-2612 permit and
 * `delegateWithPermit` (one transaction), approve + delegate when a permit cannot be used, a plain
 * `delegate` when an allowance already covers the amount. The commission limit defaults to what the operator
 * charges now or has queued, so a raise queued between reading and sending makes the transaction revert
 * (`CommissionAboveLimit`) instead of binding the delegator to it.
 */
import type { Address, Hex } from "viem";

import { PERMIT_VALIDITY_S } from "../constants.ts";
import { stakeRegistryAbi, vainTokenAbi } from "../contracts.ts";
import { ChainError, NonPositiveAmountError } from "../errors.ts";
import { TransactionRevertedError } from "../revert.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { ensureAllowance } from "./ensure-allowance.ts";
import { readCommission } from "./read-commission.ts";
import { signPermit } from "./sign-permit.ts";
import type { SignPermitReturnType } from "./sign-permit.ts";
import { isUserRejection } from "./stake.ts";
import type { StakeMethod } from "./stake.ts";
import { readChain, writeContractAndWait } from "./write.ts";

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

/** Delegates `amountWei` to `operator`; a failed approve + delegate puts the allowance back as it was. */
export async function delegate(
  client: ChainWriteClient,
  parameters: DelegateParameters,
): Promise<DelegateReturnType> {
  const { operator, amountWei } = parameters;
  if (amountWei <= 0n) throw new NonPositiveAmountError("delegate");
  const { token, registry } = client.contracts;
  const delegator = accountOf(client);
  let maxCommissionBps = parameters.maxCommissionBps;
  if (maxCommissionBps === undefined) {
    const c = await readCommission(client, { operator });
    maxCommissionBps = c.pendingBps > c.currentBps ? c.pendingBps : c.currentBps;
  }
  const limit = maxCommissionBps;
  const allowance = await readChain(client, "read the allowance", () =>
    client.publicClient.readContract({
      address: token,
      abi: vainTokenAbi,
      functionName: "allowance",
      args: [delegator, registry],
    }),
  );
  const result = (method: StakeMethod, hashes: readonly Hex[], shares: bigint): DelegateReturnType => ({
    delegator,
    operator,
    amountWei,
    shares,
    maxCommissionBps: limit,
    method,
    transactionHashes: hashes,
  });
  const plain = async (): Promise<{ hash: Hex; shares: bigint }> => {
    const { hash, event } = await writeContractAndWait(client, {
      action: "delegate",
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "delegate",
      args: [operator, amountWei, limit],
      eventName: "Delegated",
    });
    return { hash, shares: event.args.shares };
  };
  if (allowance >= amountWei) {
    const { hash, shares } = await plain();
    return result("stake", [hash], shares);
  }
  if (parameters.usePermit !== false) {
    const block = await readChain(client, "read the latest block", () => client.publicClient.getBlock());
    const deadline = block.timestamp + PERMIT_VALIDITY_S;
    const fallBack = parameters.fallBackAfterSigningError ?? ((error) => !isUserRejection(error));
    let signature: SignPermitReturnType | undefined;
    try {
      client.onProgress?.({ kind: "signing", action: "permit" });
      signature = await signPermit(client, { spender: registry, amountWei, deadline });
    } catch (error) {
      if (error instanceof ChainError || !fallBack(error)) throw error;
      signature = undefined;
    }
    if (signature !== undefined) {
      const { v, r, s } = signature;
      try {
        const { hash, event } = await writeContractAndWait(client, {
          action: "delegate",
          address: registry,
          abi: stakeRegistryAbi,
          functionName: "delegateWithPermit",
          args: [operator, amountWei, limit, deadline, v, r, s],
          eventName: "Delegated",
        });
        return result("permit", [hash], event.args.shares);
      } catch (error) {
        // Only a token without a working permit falls back; a refused signature is the user's to see.
        const noPermit = error instanceof TransactionRevertedError && error.errorName === "PermitFailed";
        if (!noPermit) throw error;
      }
    }
  }
  const approval = await ensureAllowance(client, { spender: registry, amountWei });
  try {
    const { hash, shares } = await plain();
    return result("approve+stake", approval === undefined ? [hash] : [approval, hash], shares);
  } catch (error) {
    if (approval !== undefined) {
      // Best effort: a failed delegation leaves the allowance as it was (the delegation error is the one to see).
      await writeContractAndWait(client, {
        action: "reset the allowance",
        address: token,
        abi: vainTokenAbi,
        functionName: "approve",
        args: [registry, allowance],
      }).catch(() => undefined);
    }
    throw error;
  }
}
