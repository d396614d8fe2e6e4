/**
 * Stakes VAIN on `StakeRegistry` (docs/protocol.md §2) through `spendWithPermit`: one EIP-2612 permit and
 * `stakeWithPermit` (one transaction, no standing allowance), approve + stake when a permit cannot be used, a
 * plain `stake` when an allowance already covers the amount. A failed stake leaves no allowance behind.
 */
import type { Address, Hex } from "viem";

import { stakeRegistryAbi } from "../contracts.ts";
import { NonPositiveAmountError } from "../errors.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { readActiveStake } from "./read-active-stake.ts";
import { spendWithPermit } from "./spend-with-permit.ts";
import type { StakeMethod } from "./spend-with-permit.ts";
import { readChain, writeContractAndWait } from "./write.ts";

export { AllowanceLeftError, isUserRejection } from "./spend-with-permit.ts";
export type { StakeMethod } from "./spend-with-permit.ts";

export interface StakeParameters {
  readonly amountWei: bigint;
  /** Try a permit first (default true); false forces approve + stake. */
  readonly usePermit?: boolean;
  /**
   * Whether a failed permit signature should fall back to approve + stake. Default: any failure but the
   * user's own rejection (EIP-1193 4001), e.g. an account that cannot sign typed data. The dashboard
   * narrows it to "the wallet does not implement the method".
   */
  readonly fallBackAfterSigningError?: (error: unknown) => boolean;
}
export interface StakeReturnType {
  readonly operator: Address;
  readonly amountWei: bigint;
  readonly activeStakeWei: bigint;
  /** The registry's minimum active stake at the time of the stake. */
  readonly minStakeWei: bigint;
  /**
   * Whether the operator is active (active stake >= the minimum) after this stake. An inactive operator
   * cannot bind a peer ID, train, aggregate or be admitted to the mesh: stake `minStakeWei - activeStakeWei` more.
   */
  readonly isActive: boolean;
  readonly method: StakeMethod;
  readonly transactionHashes: readonly Hex[];
}

/** Stakes `amountWei` (see `spendWithPermit` for how the tokens move and when a permit falls back). */
export async function stake(client: ChainWriteClient, parameters: StakeParameters): Promise<StakeReturnType> {
  const { amountWei } = parameters;
  if (amountWei <= 0n) throw new NonPositiveAmountError("stake");
  const { registry } = client.contracts;
  const operator = accountOf(client);
  const call = { action: "stake", address: registry, abi: stakeRegistryAbi } as const;
  const { method, transactionHashes } = await spendWithPermit(client, {
    amountWei,
    usePermit: parameters.usePermit,
    fallBackAfterSigningError: parameters.fallBackAfterSigningError,
    plain: () => writeContractAndWait(client, { ...call, functionName: "stake", args: [amountWei] }),
    withPermit: ({ deadline, v, r, s }) =>
      writeContractAndWait(client, {
        ...call,
        functionName: "stakeWithPermit",
        args: [amountWei, deadline, v, r, s],
      }),
  });
  const [activeStakeWei, minStakeWei] = await Promise.all([
    readActiveStake(client, { operator }),
    readChain(client, "read the minimum stake", () =>
      client.publicClient.readContract({
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "minStake",
      }),
    ),
  ]);
  return {
    operator,
    amountWei,
    activeStakeWei,
    minStakeWei,
    isActive: activeStakeWei !== 0n && activeStakeWei >= minStakeWei,
    method,
    transactionHashes,
  };
}
