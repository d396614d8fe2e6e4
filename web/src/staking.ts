/**
 * The dashboard's staking actions and the account's position. The writes are the node's own chain actions
 * (node/chain/actions/: simulate first so a revert shows the contract's custom error before the wallet is
 * asked, send, wait, parse the event); this module only adapts them to the page: wallet prompts in words,
 * the block a transaction landed in, and viem's own errors for errors.ts to put in words.
 */
import { parseUnits } from "viem";
import type { Account, Address, Chain, Hash, Hex, PublicClient, Transport, WalletClient } from "viem";

import { bindPeerId as bindPeerIdAction } from "../../node/chain/actions/bind-peer-id.ts";
import { claim } from "../../node/chain/actions/claim.ts";
import type { ChainWriteClient, TxProgress } from "../../node/chain/actions/client.ts";
import { requestUnstake as requestUnstakeAction } from "../../node/chain/actions/request-unstake.ts";
import { stake } from "../../node/chain/actions/stake.ts";
import { NothingToWithdrawError, withdraw as withdrawAction } from "../../node/chain/actions/withdraw.ts";
import { ChainError } from "../../node/chain/errors.ts";
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
  /** The registry's minimum stake (binding a peer ID needs it). */
  readonly minStake: bigint;
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
  const [balance, active, unbonding, releaseTime, claimable, peerId, minStake, block] = await Promise.all([
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
    publicClient.readContract({ ...registry, functionName: "minStake" }),
    publicClient.getBlock({ blockTag: "latest" }),
  ]);
  return {
    balance,
    active,
    unbonding,
    releaseTime: BigInt(releaseTime),
    claimable,
    peerId,
    minStake,
    chainTimeMs: Number(block.timestamp) * 1000,
  };
}

/** Progress reported to the page while an action runs. */
export type ActionProgress =
  { readonly step: "wallet"; readonly what: string } | { readonly step: "sent"; readonly hash: Hash };

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

/** The wallet prompt, in words, for each step the node's actions report (keyed by their action names). */
const PROMPTS: Readonly<Record<string, string>> = {
  permit: "Sign the permit in your wallet…",
  approve: "Approve the registry in your wallet (1 of 2)…",
  unstake: "Confirm the unstake request in your wallet…",
  withdraw: "Confirm the withdrawal in your wallet…",
  bind: "Confirm the binding in your wallet…",
  claim: "Confirm the claim in your wallet…",
};

/**
 * Runs one of the node's actions for the page: maps its progress to wallet prompts, returns the block of
 * its last transaction, and rethrows the wallet's or viem's own error (kept as the typed error's cause) so
 * errors.ts words it for a person.
 */
async function run(
  ctx: StakingContext,
  onProgress: (p: ActionProgress) => void,
  stakePrompt: string,
  action: (client: ChainWriteClient) => Promise<unknown>,
): Promise<bigint> {
  let block: bigint | undefined;
  const client: ChainWriteClient = {
    publicClient: ctx.publicClient,
    walletClient: ctx.walletClient,
    contracts: {
      token: ctx.contracts.token,
      registry: ctx.contracts.stakeRegistry,
      rounds: ctx.contracts.trainingRounds,
    },
    onProgress: (event: TxProgress) => {
      if (event.kind === "signing")
        onProgress({
          step: "wallet",
          what: event.action === "stake" ? stakePrompt : (PROMPTS[event.action] ?? "Confirm in your wallet…"),
        });
      else if (event.kind === "sent") onProgress({ step: "sent", hash: event.hash });
      else block = event.blockNumber;
    },
  };
  try {
    await action(client);
  } catch (error) {
    if (error instanceof NothingToWithdrawError) {
      throw new InputError(
        error.unbondingWei === 0n
          ? "Nothing is unbonding: request an unstake first."
          : `Nothing to withdraw until ${new Date(Number(error.releaseTime) * 1000).toLocaleString()}.`,
      );
    }
    throw error instanceof ChainError && error.cause !== undefined ? error.cause : error;
  }
  // No transaction (binding the peer ID already bound): the state the page shows is the latest block's.
  return block ?? (await ctx.publicClient.getBlockNumber());
}

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
  return run(ctx, onProgress, "Confirm the stake transaction in your wallet…", (client) =>
    stake(client, {
      amountWei: amount,
      fallBackAfterSigningError: (error) => !isUserRejection(error) && isUnsupportedMethod(error),
    }),
  );
}

/** The two-transaction path: `approve(registry, amount)` then `stake(amount)`. */
export async function approveAndStake(
  ctx: StakingContext,
  amount: bigint,
  onProgress: (p: ActionProgress) => void,
): Promise<bigint> {
  await ensureBalance(ctx, amount);
  return run(ctx, onProgress, "Confirm the stake in your wallet (2 of 2)…", (client) =>
    stake(client, { amountWei: amount, usePermit: false }),
  );
}

export async function requestUnstake(
  ctx: StakingContext,
  amount: bigint,
  onProgress: (p: ActionProgress) => void,
): Promise<bigint> {
  return run(ctx, onProgress, "", (client) => requestUnstakeAction(client, { amountWei: amount }));
}

export async function withdraw(
  ctx: StakingContext,
  onProgress: (p: ActionProgress) => void,
): Promise<bigint> {
  return run(ctx, onProgress, "", withdrawAction);
}

export async function bindPeerId(
  ctx: StakingContext,
  peerIdBytes: Hex,
  onProgress: (p: ActionProgress) => void,
): Promise<bigint> {
  return run(ctx, onProgress, "", (client) => bindPeerIdAction(client, { peerId: peerIdBytes }));
}

export async function claimRewards(
  ctx: StakingContext,
  onProgress: (p: ActionProgress) => void,
): Promise<bigint> {
  return run(ctx, onProgress, "", claim);
}
