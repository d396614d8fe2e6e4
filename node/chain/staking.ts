/**
 * Operator staking actions on `StakeRegistry` (docs/protocol.md §2): stake (EIP-2612 permit in one
 * transaction, approve + stake when a permit cannot be used), request unstake, withdraw after the unbonding
 * delay, bind the node's peer ID, and opt in or out of aggregator duty on `TrainingRounds`.
 */
import { parseEventLogs, parseSignature } from "viem";
import type { Address, Hex } from "viem";

import { formatTokens } from "./amounts.ts";
import { stakeRegistryAbi, trainingRoundsAbi, vainTokenAbi } from "./contracts.ts";
import { ChainError } from "./errors.ts";
import { operatorAddress, protocolAddresses, readChain, submitTransaction } from "./operator.ts";
import type { OperatorContext, SentTransaction } from "./operator.ts";
import { peerIdFromChainBytes, peerIdToChainBytes } from "./peer-id.ts";
import { TransactionRevertedError } from "./revert.ts";

/** How long a permit signature stays valid: long enough for a slow chain, short enough not to linger. */

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
export const PERMIT_VALIDITY_S = 3_600n;

/** How a stake was made: `permit` (one tx), `approve+stake` (two), `stake` (allowance already covered it). */
export type StakeMethod = "permit" | "approve+stake" | "stake";

export interface StakeOptions {
  /** Try a permit first (default true); false forces approve + stake. */
  readonly usePermit?: boolean;
}

export interface StakeResult {
  readonly operator: Address;
  readonly amountWei: bigint;
  readonly activeStakeWei: bigint;
  readonly method: StakeMethod;
  readonly transactionHashes: readonly Hex[];
}

/** An amount given to a library function (not parsed from text) is zero or negative. */
export class NonPositiveAmountError extends ChainError {
  override readonly name = "NonPositiveAmountError";
  constructor(action: string) {
    super("INVALID_AMOUNT", `${action} failed: the amount must be greater than zero`);
  }
}

function assertPositive(action: string, amountWei: bigint): void {
  if (amountWei <= 0n) throw new NonPositiveAmountError(action);
}

async function latestTimestamp(ctx: OperatorContext): Promise<bigint> {
  const block = await readChain(ctx, "read the latest block", () => ctx.publicClient.getBlock());
  return block.timestamp;
}

/** Signs an EIP-2612 permit for the registry, with the domain the token itself reports. */
async function signPermit(
  ctx: OperatorContext,
  amountWei: bigint,
  deadline: bigint,
): Promise<{ v: number; r: Hex; s: Hex }> {
  const { token, registry } = protocolAddresses(ctx.deployment);
  const owner = operatorAddress(ctx);
  const [[, name, version, chainId, verifyingContract], nonce] = await readChain(
    ctx,
    "read the permit domain",
    () =>
      Promise.all([
        ctx.publicClient.readContract({ address: token, abi: vainTokenAbi, functionName: "eip712Domain" }),
        ctx.publicClient.readContract({
          address: token,
          abi: vainTokenAbi,
          functionName: "nonces",
          args: [owner],
        }),
      ]),
  );
  const signature = await ctx.walletClient.signTypedData({
    domain: { name, version, chainId, verifyingContract },
    types: PERMIT_TYPES,
    primaryType: "Permit",
    message: { owner, spender: registry, value: amountWei, nonce, deadline },
  });
  const { v, yParity, r, s } = parseSignature(signature);
  return { v: v === undefined ? yParity + 27 : Number(v), r, s };
}

/** Approves the registry (or the rounds contract) for exactly `amountWei` when the allowance is short. */
export async function ensureAllowance(
  ctx: OperatorContext,
  spender: Address,
  amountWei: bigint,
): Promise<SentTransaction | undefined> {
  const { token } = protocolAddresses(ctx.deployment);
  const owner = operatorAddress(ctx);
  const allowance = await readChain(ctx, "read the allowance", () =>
    ctx.publicClient.readContract({
      address: token,
      abi: vainTokenAbi,
      functionName: "allowance",
      args: [owner, spender],
    }),
  );
  if (allowance >= amountWei) return undefined;
  return submitTransaction(ctx, "approve", async () => {
    const { request } = await ctx.publicClient.simulateContract({
      account: ctx.walletClient.account,
      address: token,
      abi: vainTokenAbi,
      functionName: "approve",
      args: [spender, amountWei],
    });
    return ctx.walletClient.writeContract(request);
  });
}

async function readActiveStake(ctx: OperatorContext, operator: Address): Promise<bigint> {
  const { registry } = protocolAddresses(ctx.deployment);
  return readChain(ctx, "read the active stake", () =>
    ctx.publicClient.readContract({
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "activeStake",
      args: [operator],
    }),
  );
}

async function plainStake(ctx: OperatorContext, amountWei: bigint): Promise<SentTransaction> {
  const { registry } = protocolAddresses(ctx.deployment);
  return submitTransaction(ctx, "stake", async () => {
    const { request } = await ctx.publicClient.simulateContract({
      account: ctx.walletClient.account,
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "stake",
      args: [amountWei],
    });
    return ctx.walletClient.writeContract(request);
  });
}

/**
 * Stakes `amountWei`. With `usePermit` (default) it signs one EIP-2612 permit and calls `stakeWithPermit`
 * (one transaction, no standing allowance). It falls back to approve + stake when the account cannot sign
 * typed data or the token rejects the permit (the registry then reverts with ERC20InsufficientAllowance);
 * other reverts (balance too low, paused) are reported, not retried. An allowance that already covers the
 * amount is used with a plain `stake`.
 */
export async function stake(
  ctx: OperatorContext,
  amountWei: bigint,
  options: StakeOptions = {},
): Promise<StakeResult> {
  assertPositive("stake", amountWei);
  const { token, registry } = protocolAddresses(ctx.deployment);
  const operator = operatorAddress(ctx);
  const allowance = await readChain(ctx, "read the allowance", () =>
    ctx.publicClient.readContract({
      address: token,
      abi: vainTokenAbi,
      functionName: "allowance",
      args: [operator, registry],
    }),
  );
  const done = async (method: StakeMethod, sent: readonly SentTransaction[]): Promise<StakeResult> => ({
    operator,
    amountWei,
    activeStakeWei: await readActiveStake(ctx, operator),
    method,
    transactionHashes: sent.map((t) => t.hash),
  });
  if (allowance >= amountWei) return done("stake", [await plainStake(ctx, amountWei)]);

  if (options.usePermit !== false) {
    const deadline = (await latestTimestamp(ctx)) + PERMIT_VALIDITY_S;
    let signature: { v: number; r: Hex; s: Hex } | undefined;
    try {
      ctx.onProgress?.({ kind: "signing", action: "permit" });
      signature = await signPermit(ctx, amountWei, deadline);
    } catch (error) {
      if (error instanceof ChainError) throw error;
      signature = undefined; // the account cannot sign EIP-712 data: use approve + stake
    }
    if (signature !== undefined) {
      const { v, r, s } = signature;
      try {
        const sent = await submitTransaction(ctx, "stake", async () => {
          const { request } = await ctx.publicClient.simulateContract({
            account: ctx.walletClient.account,
            address: registry,
            abi: stakeRegistryAbi,
            functionName: "stakeWithPermit",
            args: [amountWei, deadline, v, r, s],
          });
          return ctx.walletClient.writeContract(request);
        });
        return done("permit", [sent]);
      } catch (error) {
        const permitRejected =
          error instanceof TransactionRevertedError && error.errorName === "ERC20InsufficientAllowance";
        if (!permitRejected) throw error;
      }
    }
  }
  const approval = await ensureAllowance(ctx, registry, amountWei);
  const staked = await plainStake(ctx, amountWei);
  return done("approve+stake", approval === undefined ? [staked] : [approval, staked]);
}

export interface UnstakeResult {
  readonly operator: Address;
  readonly amountWei: bigint;
  readonly activeStakeWei: bigint;
  readonly unbondingStakeWei: bigint;
  /** Unix seconds (chain time) after which `withdraw` succeeds. */
  readonly releaseTime: bigint;
  readonly transactionHash: Hex;
}

/** Moves `amountWei` of active stake to unbonding; the whole unbonding bucket's release time restarts. */
export async function requestUnstake(ctx: OperatorContext, amountWei: bigint): Promise<UnstakeResult> {
  assertPositive("unstake", amountWei);
  const { registry } = protocolAddresses(ctx.deployment);
  const operator = operatorAddress(ctx);
  const sent = await submitTransaction(ctx, "unstake", async () => {
    const { request } = await ctx.publicClient.simulateContract({
      account: ctx.walletClient.account,
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "requestUnstake",
      args: [amountWei],
    });
    return ctx.walletClient.writeContract(request);
  });
  const [event] = parseEventLogs({
    abi: stakeRegistryAbi,
    eventName: "UnstakeRequested",
    logs: sent.receipt.logs,
  });
  if (event === undefined) throw new Error(`unstake: no UnstakeRequested event in ${sent.hash}`);
  return {
    operator,
    amountWei,
    activeStakeWei: await readActiveStake(ctx, operator),
    unbondingStakeWei: event.args.unbondingStake,
    releaseTime: event.args.releaseTime,
    transactionHash: sent.hash,
  };
}

/** Nothing is unbonding, or the unbonding delay has not passed yet. */
export class NothingToWithdrawError extends ChainError {
  override readonly name = "NothingToWithdrawError";
  /** Unix seconds of the release (0 when nothing is unbonding). */
  readonly releaseTime: bigint;
  readonly unbondingWei: bigint;
  constructor(unbondingWei: bigint, releaseTime: bigint, now: bigint) {
    super(
      "NOTHING_TO_WITHDRAW",
      unbondingWei === 0n
        ? "withdraw failed: nothing is unbonding (start with `vain-node unstake <amount>`)"
        : `withdraw failed: ${formatTokens(unbondingWei)} is still unbonding until ${new Date(Number(releaseTime) * 1000).toISOString()} (in ${formatWait(releaseTime - now)}); run withdraw again then`,
    );
    this.releaseTime = releaseTime;
    this.unbondingWei = unbondingWei;
  }
}

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

export interface WithdrawResult {
  readonly operator: Address;
  readonly amountWei: bigint;
  readonly transactionHash: Hex;
}

/**
 * Withdraws the whole unbonding bucket. Checks chain time first so a too-early call fails with the release
 * time instead of spending gas; the contract's `NothingToWithdraw` revert is the backstop.
 */
export async function withdraw(ctx: OperatorContext): Promise<WithdrawResult> {
  const { registry } = protocolAddresses(ctx.deployment);
  const operator = operatorAddress(ctx);
  const [unbondingWei, releaseTime, block] = await readChain(ctx, "read the unbonding stake", () =>
    Promise.all([
      ctx.publicClient.readContract({
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "unbondingStake",
        args: [operator],
      }),
      ctx.publicClient.readContract({
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "unbondingReleaseTime",
        args: [operator],
      }),
      ctx.publicClient.getBlock(),
    ]),
  );
  // The next block's timestamp is at least one second later; the contract compares against that.
  if (unbondingWei === 0n || block.timestamp + 1n < releaseTime) {
    throw new NothingToWithdrawError(unbondingWei, releaseTime, block.timestamp);
  }
  const sent = await submitTransaction(ctx, "withdraw", async () => {
    const { request } = await ctx.publicClient.simulateContract({
      account: ctx.walletClient.account,
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "withdraw",
    });
    return ctx.walletClient.writeContract(request);
  });
  const [event] = parseEventLogs({ abi: stakeRegistryAbi, eventName: "Withdrawn", logs: sent.receipt.logs });
  return { operator, amountWei: event?.args.amount ?? unbondingWei, transactionHash: sent.hash };
}

export interface BindResult {
  readonly operator: Address;
  readonly peerId: string;
  /** The peer ID bound before (replaced by this one), or null. */
  readonly previousPeerId: string | null;
  /** False when this peer ID was already bound to the operator (no transaction sent). */
  readonly changed: boolean;
  readonly transactionHash: Hex | null;
}

/** Binds `peerId` (a libp2p peer ID string) to the operator; a no-op when it is already bound. */
export async function bindPeerId(ctx: OperatorContext, peerId: string): Promise<BindResult> {
  const bytes = peerIdToChainBytes(peerId);
  const { registry } = protocolAddresses(ctx.deployment);
  const operator = operatorAddress(ctx);
  const current = await readChain(ctx, "read the bound peer ID", () =>
    ctx.publicClient.readContract({
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "peerIdOf",
      args: [operator],
    }),
  );
  const previousPeerId = peerIdFromChainBytes(current);
  if (current.toLowerCase() === bytes.toLowerCase()) {
    return { operator, peerId, previousPeerId, changed: false, transactionHash: null };
  }
  const sent = await submitTransaction(ctx, "bind", async () => {
    const { request } = await ctx.publicClient.simulateContract({
      account: ctx.walletClient.account,
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "bindPeerId",
      args: [bytes],
    });
    return ctx.walletClient.writeContract(request);
  });
  return { operator, peerId, previousPeerId, changed: true, transactionHash: sent.hash };
}

export interface AggregatorOptInResult {
  readonly operator: Address;
  readonly optedIn: boolean;
  readonly transactionHash: Hex;
}

/** Opts the operator in or out of aggregator selection (opting in needs active stake). */
export async function setAggregatorOptIn(
  ctx: OperatorContext,
  optIn: boolean,
): Promise<AggregatorOptInResult> {
  const { rounds } = protocolAddresses(ctx.deployment);
  const operator = operatorAddress(ctx);
  const sent = await submitTransaction(ctx, optIn ? "aggregator opt-in" : "aggregator opt-out", async () => {
    const { request } = await ctx.publicClient.simulateContract({
      account: ctx.walletClient.account,
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "setAggregatorOptIn",
      args: [optIn],
    });
    return ctx.walletClient.writeContract(request);
  });
  return { operator, optedIn: optIn, transactionHash: sent.hash };
}
