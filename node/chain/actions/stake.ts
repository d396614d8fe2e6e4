/**
 * Stakes VAIN on `StakeRegistry` (docs/protocol.md §2): one EIP-2612 permit and `stakeWithPermit` (one
 * transaction, no standing allowance), approve + stake when a permit cannot be used, a plain `stake` when
 * an allowance already covers the amount.
 */
import type { Address, Hex } from "viem";

import { formatTokens } from "../amounts.ts";
import { PERMIT_VALIDITY_S } from "../constants.ts";
import { stakeRegistryAbi, vainTokenAbi } from "../contracts.ts";
import { ChainError, NonPositiveAmountError } from "../errors.ts";
import { TransactionRevertedError } from "../revert.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { ensureAllowance } from "./ensure-allowance.ts";
import { readActiveStake } from "./read-active-stake.ts";
import { signPermit } from "./sign-permit.ts";
import type { SignPermitReturnType } from "./sign-permit.ts";
import { readChain, writeContractAndWait } from "./write.ts";

/** How a stake was made: `permit` (one tx), `approve+stake` (two), `stake` (allowance already covered it). */
export type StakeMethod = "permit" | "approve+stake" | "stake";

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

/**
 * The stake failed after this action approved the registry, and putting the allowance back failed too: the
 * registry may still spend `allowanceWei` of the operator's tokens. Says how to clear it by hand.
 */
export class AllowanceLeftError extends ChainError {
  override readonly name = "AllowanceLeftError";
  readonly allowanceWei: bigint;
  constructor(stakeError: ChainError, allowanceWei: bigint, restoreWei: bigint, cause?: unknown) {
    super(
      "ALLOWANCE_LEFT",
      `${stakeError.shortMessage}; the registry's allowance of ${formatTokens(allowanceWei)} could not be reset to ${formatTokens(restoreWei)} (approve the registry for ${formatTokens(restoreWei)} by hand)`,
      { cause: cause ?? stakeError },
    );
    this.allowanceWei = allowanceWei;
  }
}

/** True when a wallet reported that the user rejected the request (EIP-1193 code 4001, anywhere in the chain). */
export function isUserRejection(error: unknown): boolean {
  for (let e: unknown = error; e !== null && typeof e === "object"; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === 4001) return true;
  }
  return false;
}

/**
 * Stakes `amountWei`. The permit path falls back to approve + stake when signing fails (see
 * `fallBackAfterSigningError`) or the token has no working permit (the registry reverts `PermitFailed`); a
 * permit the token refuses for a reason (`ERC2612InvalidSigner`, `ERC2612ExpiredSignature`) is reported as
 * such, and so are other reverts (balance too low, paused). Approve + stake approves exactly the amount and,
 * when the stake then fails, puts the allowance back as it was: a failed stake leaves no allowance behind.
 */
export async function stake(client: ChainWriteClient, parameters: StakeParameters): Promise<StakeReturnType> {
  const { amountWei } = parameters;
  if (amountWei <= 0n) throw new NonPositiveAmountError("stake");
  const { token, registry } = client.contracts;
  const operator = accountOf(client);
  const allowance = await readChain(client, "read the allowance", () =>
    client.publicClient.readContract({
      address: token,
      abi: vainTokenAbi,
      functionName: "allowance",
      args: [operator, registry],
    }),
  );
  const plainStake = async (): Promise<Hex> =>
    (
      await writeContractAndWait(client, {
        action: "stake",
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "stake",
        args: [amountWei],
      })
    ).hash;
  const done = async (method: StakeMethod, hashes: readonly Hex[]): Promise<StakeReturnType> => {
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
      transactionHashes: hashes,
    };
  };
  if (allowance >= amountWei) return done("stake", [await plainStake()]);

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
        const { hash } = await writeContractAndWait(client, {
          action: "stake",
          address: registry,
          abi: stakeRegistryAbi,
          functionName: "stakeWithPermit",
          args: [amountWei, deadline, v, r, s],
        });
        return await done("permit", [hash]);
      } catch (error) {
        // Only a token without a working permit falls back; a refused signature is the user's to see.
        const noPermit = error instanceof TransactionRevertedError && error.errorName === "PermitFailed";
        if (!noPermit) throw error;
      }
    }
  }
  const approval = await ensureAllowance(client, { spender: registry, amountWei });
  let staked: Hex;
  try {
    staked = await plainStake();
  } catch (error) {
    if (approval !== undefined) await restoreAllowance(client, allowance, amountWei, error);
    throw error;
  }
  return done("approve+stake", approval === undefined ? [staked] : [approval, staked]);
}

/** Puts the registry's allowance back to `previousWei` after a failed stake this action approved for. */
async function restoreAllowance(
  client: ChainWriteClient,
  previousWei: bigint,
  approvedWei: bigint,
  stakeError: unknown,
): Promise<void> {
  try {
    await writeContractAndWait(client, {
      action: "reset the allowance",
      address: client.contracts.token,
      abi: vainTokenAbi,
      functionName: "approve",
      args: [client.contracts.registry, previousWei],
    });
  } catch (resetError) {
    const reason =
      stakeError instanceof ChainError
        ? stakeError
        : new ChainError("TX_FAILED", "stake failed", { cause: stakeError });
    throw new AllowanceLeftError(reason, approvedWei, previousWei, resetError);
  }
}
