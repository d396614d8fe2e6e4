/**
 * Rewards of a round larger than the contract's weights array (issue #21; contracts/rounds/RoundClaimsExtension.sol,
 * docs/scaling.md "Rounds of any size"). Above MAX_WEIGHTS_ARRAY trainers the aggregator posts no per-trainer
 * array: it posts a weight sum tree root, the total and the leaves packed 2 bytes a trainer (`postWeightsRoot`,
 * emitted as `WeightLeaves`), then `postAggregate` with an empty array; after the round closes each trainer
 * rebuilds the tree from the chain alone and claims its share with its own opening (`claimTrainerShare`).
 * Every reader of a round's posted weights sees the same numbers either way (`postedWeights`).
 */
import type { Address, Hex, PublicClient } from "viem";

import { MAX_WEIGHTS_ARRAY } from "../../chain/constants.ts";
import { trainingRoundsAbi } from "../../chain/contracts.ts";
import { buildWeightTree, packWeights, unpackWeights, weightOpening } from "../../proofs/weight-tree.ts";
import type { RoundContext, RoundView } from "./context.ts";

/** Whether a round of `trainers` trainers posts a weight tree root instead of a weights array. */
export function postsWeightTree(trainers: number): boolean {
  return trainers > MAX_WEIGHTS_ARRAY;
}

/**
 * The aggregator's side: the `weights` argument of `postAggregate`. A small round's is the array itself; a
 * large round's is empty, after this posts the root and leaves (unless this very root is on chain already).
 * All-zero weights post no root: the round then fails unpaid, as an all-zero array does (a root a missed
 * aggregator left would then stand: its tree pays nobody more than its leaves allow). Undefined if the root's
 * transaction failed.
 */
export async function weightsForPost(
  ctx: RoundContext,
  roundId: bigint,
  trainers: readonly Address[],
  weights: readonly number[],
  /** How long the root's transaction may ride out an unreachable chain (ms; the aggregator's: to its deadline). */
  retryBudgetMs?: number,
): Promise<bigint[] | undefined> {
  const big = weights.map(BigInt);
  if (!postsWeightTree(trainers.length)) return big;
  if (big.every((w) => w === 0n)) return [];
  const { publicClient, contracts } = ctx.options;
  const tree = buildWeightTree(roundId, trainers, big);
  const [postedRoot] = await publicClient.readContract({
    address: contracts.rounds,
    abi: trainingRoundsAbi,
    functionName: "weightClaims",
    args: [roundId],
  });
  // Already posted (a retry after a failed aggregate transaction): post the aggregate on it. Another root (a
  // missed aggregator's, before this node took the round over as its backup) is replaced.
  if (postedRoot.toLowerCase() === tree.root.toLowerCase()) return [];
  const posted = await ctx.chain.trySend(
    "postWeightsRoot",
    [roundId, tree.root, tree.totalWeight, packWeights(big)],
    retryBudgetMs,
  );
  // The reason at warn: the aggregator's post fails with it (its own warning names only the step).
  if (!posted.sent) ctx.log.warn({ roundId, reason: posted.reason }, "weight root not posted");
  return posted.sent ? [] : undefined;
}

/** Leaves already read, by contract and round: a posted round's weights never change. */
const leavesCache = new Map<string, readonly bigint[]>();
/** Most rounds whose leaves stay cached (a node reads recent rounds only: trust folding reads 16). */
const LEAVES_CACHE_ROUNDS = 64;

/**
 * The weights a posted round's aggregator accepted, in commit order, however they were posted: the on-chain
 * array, or a large round's published leaves (`WeightLeaves`, searched from the round's opening block).
 * Empty while nothing is posted, and for a large round posted without a root (all rejected).
 */
export async function postedWeights(
  publicClient: PublicClient,
  rounds: Address,
  roundId: bigint,
  round: {
    readonly trainers: readonly Address[];
    readonly weights: readonly bigint[];
    readonly posted: boolean;
  },
): Promise<readonly bigint[]> {
  if (!round.posted || !postsWeightTree(round.trainers.length)) return round.weights;
  const key = `${rounds.toLowerCase()}:${roundId}`;
  const cached = leavesCache.get(key);
  if (cached !== undefined) return cached;
  const draws = await publicClient.readContract({
    address: rounds,
    abi: trainingRoundsAbi,
    functionName: "getDraws",
    args: [roundId],
  });
  const events = await publicClient.getContractEvents({
    address: rounds,
    abi: trainingRoundsAbi,
    eventName: "WeightLeaves",
    args: { roundId },
    fromBlock: draws.openBlock,
    strict: true,
  });
  const packed: Hex | undefined = events[0]?.args.weights;
  const leaves = packed === undefined ? [] : unpackWeights(packed);
  if (leavesCache.size >= LEAVES_CACHE_ROUNDS) leavesCache.delete(leavesCache.keys().next().value!);
  leavesCache.set(key, leaves);
  return leaves;
}

/**
 * The trainer's side, once its round closed: claims this node's share of a large round if its leaf has weight,
 * the claims are open and it has not claimed yet. The tree is rebuilt from the published leaves and checked
 * against the posted root first: leaves that disagree with it could not prove anything. Returns whether a claim
 * was sent.
 */
export async function claimShare(ctx: RoundContext, roundId: bigint, round: RoundView): Promise<boolean> {
  if (!postsWeightTree(round.trainers.length)) return false;
  const index = round.trainers.findIndex((t) => t.toLowerCase() === ctx.me);
  if (index < 0) return false;
  const { publicClient, contracts } = ctx.options;
  const on = { address: contracts.rounds, abi: trainingRoundsAbi } as const;
  const [root, , , , funded, swept] = await publicClient.readContract({
    ...on,
    functionName: "weightClaims",
    args: [roundId],
  });
  if (!funded || swept) return false;
  if (
    await publicClient.readContract({ ...on, functionName: "isShareClaimed", args: [roundId, BigInt(index)] })
  )
    return false;
  const leaves = await postedWeights(publicClient, contracts.rounds, roundId, round);
  const weight = leaves[index] ?? 0n;
  if (weight === 0n || leaves.length !== round.trainers.length) return false;
  const tree = buildWeightTree(roundId, round.trainers, leaves);
  if (tree.root.toLowerCase() !== root.toLowerCase()) {
    ctx.log.warn({ roundId }, "the published weights do not match the posted root: nothing to claim with");
    return false;
  }
  const sent = await ctx.chain.sendIfValid("claimTrainerShare", [
    roundId,
    BigInt(index),
    weight,
    weightOpening(tree, index),
  ]);
  if (sent) ctx.log.info({ roundId, index, weight: weight.toString() }, "claimed a trainer share");
  return sent;
}
