/**
 * The staking actions and the account's position, on viem. Every write is simulated first so a revert shows
 * the contract's custom error before the wallet is even asked, then sent through the wallet and awaited.
 */
import { parseSignature, parseUnits } from "viem";
import type { Account, Address, Chain, Hash, Hex, PublicClient, Transport, WalletClient } from "viem";

import { stakeRegistryAbi, trainingRoundsAbi, vainTokenAbi } from "../../node/chain/generated/contracts.ts";
import type { NodeStatus } from "./api.ts";
import { formatVain } from "./format.ts";
import { isUnsupportedMethod, isUserRejection } from "./errors.ts";

export type Contracts = NodeStatus["contracts"];

export interface StakingContext {
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly walletClient: WalletClient<Transport, Chain, Account>;
  readonly account: Address;
  readonly contracts: Contracts;
}

export interface Position {
  readonly balance: bigint;
  readonly active: bigint;
  readonly unbonding: bigint;
  /** Unix seconds; 0 when nothing unbonds. */
  readonly releaseTime: bigint;
  readonly claimable: bigint;
  readonly peerId: Hex;
  /** Chain time of the latest block, unix milliseconds (the unbonding countdown runs on chain time). */
  readonly chainTimeMs: number;
}

/** A user input problem caught before any transaction. */
export class InputError extends Error {
  override readonly name = "InputError";
  readonly code = "INVALID_INPUT";
}

/** Parses a VAIN amount typed by the user (`150`, `0.5`). */
export function parseAmount(input: string): bigint {
  const text = input.trim();
  if (!/^\d+(\.\d{1,18})?$/.test(text)) throw new InputError("Enter an amount such as 150 or 0.5.");
  const value = parseUnits(text, 18);
  if (value === 0n) throw new InputError("The amount must be more than zero.");
  return value;
}

export async function readPosition(
  publicClient: PublicClient<Transport, Chain>,
  contracts: Contracts,
  account: Address,
): Promise<Position> {
  const registry = { address: contracts.stakeRegistry, abi: stakeRegistryAbi } as const;
  const [balance, active, unbonding, releaseTime, claimable, peerId, block] = await Promise.all([
    publicClient.readContract({
      address: contracts.token,
      abi: vainTokenAbi,
      functionName: "balanceOf",
      args: [account],
    }),
    publicClient.readContract({ ...registry, functionName: "activeStake", args: [account] }),
    publicClient.readContract({ ...registry, functionName: "unbondingStake", args: [account] }),
    publicClient.readContract({ ...registry, functionName: "unbondingReleaseTime", args: [account] }),
    publicClient.readContract({
      address: contracts.trainingRounds,
      abi: trainingRoundsAbi,
      functionName: "claimable",
      args: [account],
    }),
    publicClient.readContract({ ...registry, functionName: "peerIdOf", args: [account] }),
    publicClient.getBlock({ blockTag: "latest" }),
  ]);
  return {
    balance,
    active,
    unbonding,
    releaseTime: BigInt(releaseTime),
    claimable,
    peerId,
    chainTimeMs: Number(block.timestamp) * 1000,
  };
}

/** Progress reported to the page while an action runs. */
export type ActionProgress =
  { readonly step: "wallet"; readonly what: string } | { readonly step: "sent"; readonly hash: Hash };

async function confirm(
  ctx: StakingContext,
  hash: Hash,
  onProgress: (p: ActionProgress) => void,
): Promise<bigint> {
  onProgress({ step: "sent", hash });
  const receipt = await ctx.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`Transaction ${hash} reverted.`);
  return receipt.blockNumber;
}

async function ensureBalance(ctx: StakingContext, amount: bigint): Promise<void> {
  const balance = await ctx.publicClient.readContract({
    address: ctx.contracts.token,
    abi: vainTokenAbi,
    functionName: "balanceOf",
    args: [ctx.account],
  });
  if (balance < amount) {
    throw new InputError(
      `Insufficient balance: you have ${formatVain(balance)} and want to stake ${formatVain(amount)}.`,
    );
  }
}

/** Seconds a permit stays valid: long enough for a slow wallet prompt, short enough not to linger. */
export const PERMIT_VALIDITY_S = 3_600n;

/**
 * Stakes with an EIP-2612 permit: one signature (no approve transaction), then `stakeWithPermit`. Falls back
 * to approve + stake when the wallet cannot sign typed data; a rejected signature is not retried.
 */
export async function stakeWithPermit(
  ctx: StakingContext,
  amount: bigint,
  onProgress: (p: ActionProgress) => void,
): Promise<bigint> {
  await ensureBalance(ctx, amount);
  const token = { address: ctx.contracts.token, abi: vainTokenAbi } as const;
  const [nonce, domain, block] = await Promise.all([
    ctx.publicClient.readContract({ ...token, functionName: "nonces", args: [ctx.account] }),
    ctx.publicClient.readContract({ ...token, functionName: "eip712Domain" }),
    ctx.publicClient.getBlock({ blockTag: "latest" }),
  ]);
  const [, name, version, chainId, verifyingContract] = domain;
  const deadline = block.timestamp + PERMIT_VALIDITY_S;
  onProgress({ step: "wallet", what: "Sign the permit in your wallet…" });
  let signature: Hex;
  try {
    signature = await ctx.walletClient.signTypedData({
      account: ctx.account,
      domain: { name, version, chainId, verifyingContract },
      types: {
        Permit: [
          { name: "owner", type: "address" },
          { name: "spender", type: "address" },
          { name: "value", type: "uint256" },
          { name: "nonce", type: "uint256" },
          { name: "deadline", type: "uint256" },
        ],
      },
      primaryType: "Permit",
      message: { owner: ctx.account, spender: ctx.contracts.stakeRegistry, value: amount, nonce, deadline },
    });
  } catch (error) {
    if (!isUserRejection(error) && isUnsupportedMethod(error))
      return approveAndStake(ctx, amount, onProgress);
    throw error;
  }
  const { v, r, s, yParity } = parseSignature(signature);
  const recovery = v === undefined ? 27 + yParity : Number(v);
  const { request } = await ctx.publicClient.simulateContract({
    account: ctx.account,
    address: ctx.contracts.stakeRegistry,
    abi: stakeRegistryAbi,
    functionName: "stakeWithPermit",
    args: [amount, deadline, recovery, r, s],
  });
  onProgress({ step: "wallet", what: "Confirm the stake transaction in your wallet…" });
  return confirm(ctx, await ctx.walletClient.writeContract(request), onProgress);
}

/** The two-transaction path: `approve(registry, amount)` then `stake(amount)`. */
export async function approveAndStake(
  ctx: StakingContext,
  amount: bigint,
  onProgress: (p: ActionProgress) => void,
): Promise<bigint> {
  await ensureBalance(ctx, amount);
  const allowance = await ctx.publicClient.readContract({
    address: ctx.contracts.token,
    abi: vainTokenAbi,
    functionName: "allowance",
    args: [ctx.account, ctx.contracts.stakeRegistry],
  });
  if (allowance < amount) {
    const approve = await ctx.publicClient.simulateContract({
      account: ctx.account,
      address: ctx.contracts.token,
      abi: vainTokenAbi,
      functionName: "approve",
      args: [ctx.contracts.stakeRegistry, amount],
    });
    onProgress({ step: "wallet", what: "Approve the registry in your wallet (1 of 2)…" });
    await confirm(ctx, await ctx.walletClient.writeContract(approve.request), onProgress);
  }
  const stake = await ctx.publicClient.simulateContract({
    account: ctx.account,
    address: ctx.contracts.stakeRegistry,
    abi: stakeRegistryAbi,
    functionName: "stake",
    args: [amount],
  });
  onProgress({ step: "wallet", what: "Confirm the stake in your wallet (2 of 2)…" });
  return confirm(ctx, await ctx.walletClient.writeContract(stake.request), onProgress);
}

export async function requestUnstake(
  ctx: StakingContext,
  amount: bigint,
  onProgress: (p: ActionProgress) => void,
): Promise<bigint> {
  const { request } = await ctx.publicClient.simulateContract({
    account: ctx.account,
    address: ctx.contracts.stakeRegistry,
    abi: stakeRegistryAbi,
    functionName: "requestUnstake",
    args: [amount],
  });
  onProgress({ step: "wallet", what: "Confirm the unstake request in your wallet…" });
  return confirm(ctx, await ctx.walletClient.writeContract(request), onProgress);
}

export async function withdraw(
  ctx: StakingContext,
  onProgress: (p: ActionProgress) => void,
): Promise<bigint> {
  const { request } = await ctx.publicClient.simulateContract({
    account: ctx.account,
    address: ctx.contracts.stakeRegistry,
    abi: stakeRegistryAbi,
    functionName: "withdraw",
  });
  onProgress({ step: "wallet", what: "Confirm the withdrawal in your wallet…" });
  return confirm(ctx, await ctx.walletClient.writeContract(request), onProgress);
}

export async function bindPeerId(
  ctx: StakingContext,
  peerIdBytes: Hex,
  onProgress: (p: ActionProgress) => void,
): Promise<bigint> {
  const { request } = await ctx.publicClient.simulateContract({
    account: ctx.account,
    address: ctx.contracts.stakeRegistry,
    abi: stakeRegistryAbi,
    functionName: "bindPeerId",
    args: [peerIdBytes],
  });
  onProgress({ step: "wallet", what: "Confirm the binding in your wallet…" });
  return confirm(ctx, await ctx.walletClient.writeContract(request), onProgress);
}

export async function claimRewards(
  ctx: StakingContext,
  onProgress: (p: ActionProgress) => void,
): Promise<bigint> {
  const { request } = await ctx.publicClient.simulateContract({
    account: ctx.account,
    address: ctx.contracts.trainingRounds,
    abi: trainingRoundsAbi,
    functionName: "claim",
  });
  onProgress({ step: "wallet", what: "Confirm the claim in your wallet…" });
  return confirm(ctx, await ctx.walletClient.writeContract(request), onProgress);
}
