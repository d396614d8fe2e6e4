/** Withdraws unbonded stake from `StakeRegistry` once the unbonding delay has passed (docs/protocol.md §2). */
import type { Address, Hex } from "viem";

import { formatTokens } from "../amounts.ts";
import { stakeRegistryAbi } from "../contracts.ts";
import { ChainError } from "../errors.ts";
import { accountOf } from "./client.ts";
import type { ChainWriteClient } from "./client.ts";
import { readChain, writeContractAndWait } from "./write.ts";

/** "1d 2h 3m", "45s": a wait in words. */
export function formatWait(seconds: bigint): string {
  let s = seconds < 0n ? 0n : seconds;
  const d = s / 86_400n;
  s %= 86_400n;
  const h = s / 3_600n;
  s %= 3_600n;
  const m = s / 60n;
  s %= 60n;
  const parts = [d > 0n ? `${d}d` : "", h > 0n ? `${h}h` : "", m > 0n ? `${m}m` : ""].filter((p) => p !== "");
  return parts.length === 0 ? `${s}s` : parts.join(" ");
}

/** Nothing is unbonding, or no unbonding request has reached its release time yet. */
export class NothingToWithdrawError extends ChainError {
  override readonly name = "NothingToWithdrawError";
  /** Unix seconds of the next release (0 when nothing is unbonding). */
  readonly releaseTime: bigint;
  readonly unbondingWei: bigint;
  constructor(unbondingWei: bigint, releaseTime: bigint, now: bigint) {
    super(
      "NOTHING_TO_WITHDRAW",
      unbondingWei === 0n
        ? "withdraw failed: nothing is unbonding (start with `vain-node unstake <amount>`)"
        : `withdraw failed: ${formatTokens(unbondingWei)} is still unbonding until ${new Date(Number(releaseTime) * 1000).toISOString()} at the earliest (in ${formatWait(releaseTime - now)}); run withdraw again then`,
    );
    this.releaseTime = releaseTime;
    this.unbondingWei = unbondingWei;
  }
}

export interface WithdrawReturnType {
  readonly operator: Address;
  readonly amountWei: bigint;
  readonly transactionHash: Hex;
}

/**
 * Withdraws every unbonding request whose release time has come (later ones stay queued). Checks chain time
 * first so a too-early call fails with the next release time instead of spending gas; the contract's
 * `NothingToWithdraw` revert is the backstop.
 */
export async function withdraw(client: ChainWriteClient): Promise<WithdrawReturnType> {
  const { registry } = client.contracts;
  const operator = accountOf(client);
  const [unbondingWei, releaseTime, block] = await readChain(client, "read the unbonding stake", () =>
    Promise.all([
      client.publicClient.readContract({
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "unbondingStake",
        args: [operator],
      }),
      client.publicClient.readContract({
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "unbondingReleaseTime",
        args: [operator],
      }),
      client.publicClient.getBlock(),
    ]),
  );
  // The next block's timestamp is at least one second later; the contract compares against that.
  if (unbondingWei === 0n || block.timestamp + 1n < releaseTime) {
    throw new NothingToWithdrawError(unbondingWei, releaseTime, block.timestamp);
  }
  const { hash, event } = await writeContractAndWait(client, {
    action: "withdraw",
    address: registry,
    abi: stakeRegistryAbi,
    functionName: "withdraw",
    eventName: "Withdrawn",
  });
  return { operator, amountWei: event.args.amount, transactionHash: hash };
}
