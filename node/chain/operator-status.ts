/**
 * One consistent read of an operator's on-chain position and the network around it: balances, active and
 * unbonding stake, release time, claimable rewards, bound peer ID, aggregator opt-in, and the latest round.
 * Every value is read at the same block, so the figures always add up even while blocks are being mined.
 */
import type { Address, Hex } from "viem";

import { stakeRegistryAbi, trainingRoundsAbi, vainTokenAbi } from "./contracts.ts";
import { ROUND_STATE_NAMES } from "./contracts.ts";
import { readChain } from "./actions/write.ts";
import type { ReadContext } from "./operator.ts";
import { peerIdFromChainBytes } from "./peer-id.ts";

export interface LatestRound {
  readonly roundId: bigint;
  readonly taskId: bigint;
  readonly state: string;
  /** Unix seconds (chain time). */
  readonly commitDeadline: bigint;
  readonly aggregateDeadline: bigint;
  readonly challengeDeadline: bigint;
  readonly trainers: number;
  readonly aggregator: Address | null;
  readonly emissionWei: bigint;
}

export interface OperatorStatus {
  readonly operator: Address;
  readonly chainId: number;
  readonly blockNumber: bigint;
  /** Unix seconds of the block the figures were read at. */
  readonly blockTimestamp: bigint;
  readonly ethBalanceWei: bigint;
  readonly tokenBalanceWei: bigint;
  readonly activeStakeWei: bigint;
  readonly unbondingStakeWei: bigint;
  /** Unix seconds of the earliest pending unbonding request; 0 when nothing is unbonding. */
  readonly unbondingReleaseTime: bigint;
  /** Pending unstake requests in request order, each released at its own time (unix seconds). */
  readonly unbondingRequests: readonly { readonly amountWei: bigint; readonly releaseTime: bigint }[];
  /** What `withdraw` would pay in the next block (the requests released by then). */
  readonly withdrawableStakeWei: bigint;
  /** True when `withdraw` would succeed in the next block. */
  readonly withdrawable: boolean;
  readonly claimableWei: bigint;
  /** The bound libp2p peer ID, or null. */
  readonly peerId: string | null;
  /** Active stake >= minimum stake. */
  readonly isActive: boolean;
  readonly minStakeWei: bigint;
  readonly unbondingDelayS: bigint;
  /** The task the aggregator figures are of (candidates volunteer per task). */
  readonly taskId: bigint;
  /** Opted in as an aggregator candidate of `taskId`'s rounds. */
  readonly aggregatorOptedIn: boolean;
  readonly network: {
    readonly totalActiveStakeWei: bigint;
    /** `taskId`'s aggregator candidates. */
    readonly aggregatorCandidates: number;
    readonly tasks: bigint;
    readonly rounds: bigint;
    readonly latestRound: LatestRound | null;
  };
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** Reads {@link OperatorStatus} for `operator` and task `taskId` (no signer needed). */
export async function readOperatorStatus(
  ctx: ReadContext,
  operator: Address,
  taskId: bigint,
): Promise<OperatorStatus> {
  const { token, registry, rounds } = ctx.contracts;
  const client = ctx.publicClient;
  return readChain(ctx, "status", async () => {
    const block = await client.getBlock();
    const blockNumber = block.number;
    const at = { blockNumber } as const;
    const [
      ethBalanceWei,
      tokenBalanceWei,
      activeStakeWei,
      unbondingStakeWei,
      unbondingReleaseTime,
      requests,
      isActive,
      peerIdBytes,
      minStakeWei,
      unbondingDelayS,
      totalActiveStakeWei,
      claimableWei,
      candidates,
      [tasks, roundCount],
    ] = await Promise.all([
      client.getBalance({ ...at, address: operator }),
      client.readContract({
        ...at,
        address: token,
        abi: vainTokenAbi,
        functionName: "balanceOf",
        args: [operator],
      }),
      client.readContract({
        ...at,
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "activeStake",
        args: [operator],
      }),
      client.readContract({
        ...at,
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "unbondingStake",
        args: [operator],
      }),
      client.readContract({
        ...at,
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "unbondingReleaseTime",
        args: [operator],
      }),
      client.readContract({
        ...at,
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "unbondingRequests",
        args: [operator],
      }),
      client.readContract({
        ...at,
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "isActiveOperator",
        args: [operator],
      }),
      client.readContract({
        ...at,
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "peerIdOf",
        args: [operator],
      }),
      client.readContract({ ...at, address: registry, abi: stakeRegistryAbi, functionName: "minStake" }),
      client.readContract({
        ...at,
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "unbondingDelay",
      }),
      client.readContract({
        ...at,
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "totalActiveStake",
      }),
      client.readContract({
        ...at,
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "claimable",
        args: [operator],
      }),
      client.readContract({
        ...at,
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "aggregatorCandidates",
        args: [taskId],
      }),
      client.readContract({ ...at, address: rounds, abi: trainingRoundsAbi, functionName: "counts" }),
    ]);
    let latestRound: LatestRound | null = null;
    if (roundCount > 0n) {
      const round = await client.readContract({
        ...at,
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "getRound",
        args: [roundCount],
      });
      latestRound = {
        roundId: roundCount,
        taskId: round.taskId,
        state: ROUND_STATE_NAMES[round.state] ?? String(round.state),
        commitDeadline: round.commitDeadline,
        aggregateDeadline: round.aggregateDeadline,
        challengeDeadline: round.challengeDeadline,
        trainers: round.trainers.length,
        aggregator: round.aggregator === ZERO_ADDRESS ? null : round.aggregator,
        emissionWei: round.emission,
      };
    }
    const lower = operator.toLowerCase();
    const unbondingRequests = requests.map((r) => ({
      amountWei: r.amount,
      releaseTime: BigInt(r.releaseTime),
    }));
    // The next block's timestamp is at least one second later; withdraw compares against that.
    const withdrawableStakeWei = unbondingRequests
      .filter((r) => r.releaseTime <= block.timestamp + 1n)
      .reduce((sum, r) => sum + r.amountWei, 0n);
    return {
      operator,
      chainId: ctx.deployment.chainId,
      blockNumber,
      blockTimestamp: block.timestamp,
      ethBalanceWei,
      tokenBalanceWei,
      activeStakeWei,
      unbondingStakeWei,
      unbondingReleaseTime,
      unbondingRequests,
      withdrawableStakeWei,
      withdrawable: withdrawableStakeWei > 0n,
      claimableWei,
      peerId: peerIdFromChainBytes(peerIdBytes as Hex),
      isActive,
      minStakeWei,
      unbondingDelayS,
      taskId,
      aggregatorOptedIn: candidates.some((c) => c.toLowerCase() === lower),
      network: {
        totalActiveStakeWei,
        aggregatorCandidates: candidates.length,
        tasks,
        rounds: roundCount,
        latestRound,
      },
    };
  });
}
