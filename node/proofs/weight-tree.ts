/**
 * The round's weight sum tree (contracts/rounds/WeightSumTree.sol, docs/scaling.md "Rounds of any size"): the
 * aggregator builds it over (roundId, index, trainer, weight) for every committed trainer in commit order,
 * padded with (i, 0x0, 0) leaves to a power of two, and posts its root and total; each trainer claims with the
 * opening of its own leaf. Hashes are byte-for-byte the contract's: a leaf is
 * keccak256(0x00 ‖ roundId ‖ index ‖ trainer ‖ weight) and an inner node
 * keccak256(0x01 ‖ left ‖ leftSum ‖ right ‖ rightSum), integers as 32-byte words, the trainer as 20 bytes.
 */
import { encodePacked, keccak256 } from "viem";
import type { Address, Hex } from "viem";

/** A sibling on a leaf's path (the contract's `WeightSumTree.Sibling`). */
export interface WeightSibling {
  readonly hash: Hex;
  readonly sum: bigint;
}

export interface WeightTree {
  readonly roundId: bigint;
  readonly root: Hex;
  readonly totalWeight: bigint;
  /** Committed trainers (leaves past them are padding). */
  readonly trainers: number;
  /** levels[0] are the leaves, the last level is the root alone. */
  readonly levels: readonly (readonly { readonly hash: Hex; readonly sum: bigint }[])[];
}

/** A bad input to the tree (the caller's bug, never a peer's bytes). */
export class WeightTreeError extends Error {
  override readonly name = "WeightTreeError";
  readonly code = "WEIGHT_TREE_INPUT";
}

const ZERO_ADDRESS: Address = "0x0000000000000000000000000000000000000000";

export function weightLeaf(roundId: bigint, index: number, trainer: Address, weight: bigint): Hex {
  return keccak256(
    encodePacked(
      ["bytes1", "uint256", "uint256", "address", "uint256"],
      ["0x00", roundId, BigInt(index), trainer, weight],
    ),
  );
}

export function weightNode(left: Hex, leftSum: bigint, right: Hex, rightSum: bigint): Hex {
  return keccak256(
    encodePacked(
      ["bytes1", "bytes32", "uint256", "bytes32", "uint256"],
      ["0x01", left, leftSum, right, rightSum],
    ),
  );
}

/** Builds the tree of `trainers[i]` with `weights[i]` (commit order; weight 0 = not accepted). */
export function buildWeightTree(
  roundId: bigint,
  trainers: readonly Address[],
  weights: readonly bigint[],
): WeightTree {
  if (trainers.length !== weights.length || trainers.length === 0)
    throw new WeightTreeError(`${trainers.length} trainers, ${weights.length} weights`);
  if (weights.some((w) => w < 0n)) throw new WeightTreeError("negative weight");
  let width = 1;
  while (width < trainers.length) width *= 2;
  let level = Array.from({ length: width }, (_, i) => {
    const trainer = trainers[i] ?? ZERO_ADDRESS;
    const weight = weights[i] ?? 0n;
    return { hash: weightLeaf(roundId, i, trainer, weight), sum: weight };
  });
  const levels = [level];
  while (level.length > 1) {
    const next: { hash: Hex; sum: bigint }[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const l = level[i]!;
      const r = level[i + 1]!;
      next.push({ hash: weightNode(l.hash, l.sum, r.hash, r.sum), sum: l.sum + r.sum });
    }
    levels.push(next);
    level = next;
  }
  return {
    roundId,
    root: level[0]!.hash,
    totalWeight: level[0]!.sum,
    trainers: trainers.length,
    levels,
  };
}

/** The opening of leaf `index`: its siblings from the leaf level up (the contract's `path`). */
export function weightOpening(tree: WeightTree, index: number): WeightSibling[] {
  if (!Number.isInteger(index) || index < 0 || index >= tree.levels[0]!.length)
    throw new WeightTreeError(`index ${index} outside the tree`);
  const path: WeightSibling[] = [];
  let position = index;
  for (let depth = 0; depth < tree.levels.length - 1; depth++) {
    const sibling = tree.levels[depth]![position ^ 1]!;
    path.push({ hash: sibling.hash, sum: sibling.sum });
    position >>= 1;
  }
  return path;
}

/** Recomputes the root from an opening, as the contract does (for watchers and tests). */
export function verifyWeightOpening(
  tree: Pick<WeightTree, "roundId" | "root" | "totalWeight">,
  index: number,
  trainer: Address,
  weight: bigint,
  path: readonly WeightSibling[],
): boolean {
  if (index >= 2 ** path.length) return false;
  let hash = weightLeaf(tree.roundId, index, trainer, weight);
  let sum = weight;
  for (let level = 0; level < path.length; level++) {
    const s = path[level]!;
    hash =
      ((index >> level) & 1) === 0
        ? weightNode(hash, sum, s.hash, s.sum)
        : weightNode(s.hash, s.sum, hash, sum);
    sum += s.sum;
  }
  return hash === tree.root && sum === tree.totalWeight;
}

/** Bytes a published leaf weight takes (`postWeightsRoot`'s `weights`): weights are at most MAX_WEIGHT, 16 bits. */
const PACKED_WEIGHT_BYTES = 2;

/**
 * A large round's leaves as the aggregator publishes them with the root (RoundClaimsExtension
 * `postWeightsRoot`, event `WeightLeaves`): each weight in commit order, 2 bytes big-endian.
 */
export function packWeights(weights: readonly bigint[]): Hex {
  let hex = "0x";
  for (const w of weights) {
    if (w < 0n || w > 0xffffn) throw new WeightTreeError(`weight ${w} does not fit 16 bits`);
    hex += w.toString(16).padStart(PACKED_WEIGHT_BYTES * 2, "0");
  }
  return hex as Hex;
}

/** The weights `packWeights` packed; a length that is not whole weights is refused. */
export function unpackWeights(packed: Hex): bigint[] {
  const digits = packed.slice(2);
  if (digits.length % (PACKED_WEIGHT_BYTES * 2) !== 0)
    throw new WeightTreeError(`${digits.length / 2} bytes are not whole 2-byte weights`);
  const out: bigint[] = [];
  for (let i = 0; i < digits.length; i += PACKED_WEIGHT_BYTES * 2)
    out.push(BigInt(`0x${digits.slice(i, i + PACKED_WEIGHT_BYTES * 2)}`));
  return out;
}
