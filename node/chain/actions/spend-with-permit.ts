/**
 * The one way an action spends the operator's VAIN on `StakeRegistry` (stake, delegate): one EIP-2612 permit
 * and the registry's `...WithPermit` call (one transaction, no standing allowance), approve + call when a
 * permit cannot be used, the plain call when an allowance already covers the amount. A failed approve + call
 * puts the allowance back as it was, so a failed action leaves no allowance behind.
 */
import type { Hex } from "viem";

import { formatTokens } from "../amounts.ts";
import { PERMIT_VALIDITY_S } from "../constants.ts";
import { vainTokenAbi } from "../contracts.ts";
import { ChainError } from "../errors.ts";
import { TransactionRevertedError } from "../revert.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { ensureAllowance } from "./ensure-allowance.ts";
import { signPermit } from "./sign-permit.ts";
import type { SignPermitReturnType } from "./sign-permit.ts";
import { readChain, writeContractAndWait } from "./write.ts";

/** How tokens were spent: `permit` (one tx), `approve+stake` (two), `stake` (allowance already covered it). */
export type StakeMethod = "permit" | "approve+stake" | "stake";

/** A signed permit for the registry, with the deadline the signature covers. */
export interface RegistryPermit {
  readonly deadline: bigint;
  readonly v: number;
  readonly r: Hex;
  readonly s: Hex;
}

export interface SpendWithPermitParameters<T extends { readonly hash: Hex }> {
  readonly amountWei: bigint;
  /** Try a permit first (default true); false forces approve + call. */
  readonly usePermit?: boolean;
  /**
   * Whether a failed permit signature falls back to approve + call. Default: any failure but the user's own
   * rejection (EIP-1193 4001), e.g. an account that cannot sign typed data.
   */
  readonly fallBackAfterSigningError?: (error: unknown) => boolean;
  /** The registry call spending an allowance (`stake`, `delegate`). */
  readonly plain: () => Promise<T>;
  /** The same call carrying a permit (`stakeWithPermit`, `delegateWithPermit`). */
  readonly withPermit: (permit: RegistryPermit) => Promise<T>;
}

export interface SpendWithPermitReturnType<T> {
  readonly method: StakeMethod;
  readonly transactionHashes: readonly Hex[];
  /** What the spending call returned (its hash and any decoded event). */
  readonly outcome: T;
}

/**
 * The call failed after this action approved the registry, and putting the allowance back failed too: the
 * registry may still spend `allowanceWei` of the operator's tokens. Says how to clear it by hand.
 */
export class AllowanceLeftError extends ChainError {
  override readonly name = "AllowanceLeftError";
  readonly allowanceWei: bigint;
  constructor(callError: ChainError, allowanceWei: bigint, restoreWei: bigint, cause?: unknown) {
    super(
      "ALLOWANCE_LEFT",
      `${callError.shortMessage}; the registry's allowance of ${formatTokens(allowanceWei)} could not be reset to ${formatTokens(restoreWei)} (approve the registry for ${formatTokens(restoreWei)} by hand)`,
      { cause: cause ?? callError },
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
 * Spends `amountWei` through `plain` or `withPermit`. The permit path falls back to approve + call when signing
 * fails (see `fallBackAfterSigningError`) or the token has no working permit (the registry reverts
 * `PermitFailed`); a permit the token refuses for a reason (`ERC2612InvalidSigner`, `ERC2612ExpiredSignature`)
 * is reported as such, and so are other reverts (balance too low, paused).
 */
export async function spendWithPermit<T extends { readonly hash: Hex }>(
  client: ChainWriteClient,
  parameters: SpendWithPermitParameters<T>,
): Promise<SpendWithPermitReturnType<T>> {
  const { amountWei, plain } = parameters;
  const { token, registry } = client.contracts;
  const allowance = await readChain(client, "read the allowance", () =>
    client.publicClient.readContract({
      address: token,
      abi: vainTokenAbi,
      functionName: "allowance",
      args: [accountOf(client), registry],
    }),
  );
  if (allowance >= amountWei) {
    const outcome = await plain();
    return { method: "stake", transactionHashes: [outcome.hash], outcome };
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
      try {
        const outcome = await parameters.withPermit({ deadline, ...signature });
        return { method: "permit", transactionHashes: [outcome.hash], outcome };
      } catch (error) {
        // Only a token without a working permit falls back; a refused signature is the user's to see.
        const noPermit = error instanceof TransactionRevertedError && error.errorName === "PermitFailed";
        if (!noPermit) throw error;
      }
    }
  }
  const approval = await ensureAllowance(client, { spender: registry, amountWei });
  let outcome: T;
  try {
    outcome = await plain();
  } catch (error) {
    if (approval !== undefined) await restoreAllowance(client, allowance, amountWei, error);
    throw error;
  }
  const hashes = approval === undefined ? [outcome.hash] : [approval, outcome.hash];
  return { method: "approve+stake", transactionHashes: hashes, outcome };
}

/** Puts the registry's allowance back to `previousWei` after a failed call this action approved for. */
async function restoreAllowance(
  client: ChainWriteClient,
  previousWei: bigint,
  approvedWei: bigint,
  callError: unknown,
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
      callError instanceof ChainError
        ? callError
        : new ChainError("TX_FAILED", "the registry call failed", { cause: callError });
    throw new AllowanceLeftError(reason, approvedWei, previousWei, resetError);
  }
}
