// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title WeightSumTree
/// @notice A round's accepted weights for any number of trainers in one 32-byte root and one total: a Merkle
/// *sum* tree over leaves (roundId, index, trainer, weight), where every inner node hashes its children's
/// hashes and sums. The aggregator posts (root, totalWeight) in O(1) gas; each trainer later opens its own leaf
/// (O(log n) calldata, no loop over the round), which is how rewards for hundreds of trainers stay flat per
/// trainer (issue #21; built by node/proofs/weight-tree.ts, docs/scaling.md).
/// @dev Why a sum tree and not OpenZeppelin's MerkleProof over (trainer, weight): with a plain tree the posted
/// total is only the aggregator's word, so leaves could add up to more than it and claims to more than the
/// round's pool. Here every opening recomputes the sums along its path and must meet the posted total at the
/// root, so any set of distinct openings sums to at most `totalWeight` (distinct indices sit at distinct
/// positions, a leaf can never be an inner node: the 0x00/0x01 domain tags differ), and payouts
/// `pool · weight / totalWeight` can never exceed the pool whatever the aggregator built. The path's
/// left/right turns are the index's low bits, so an index has one position; `index < 2^depth` is required so
/// index i and i + 2^depth cannot both name it. Sums are checked arithmetic: an overflowing tree reverts.
library WeightSumTree {
    /// @notice Most levels a proof may have: 2^32 leaves, far beyond any round, and bounds the loop.
    uint256 internal constant MAX_DEPTH = 32;

    /// @notice The opening is longer than MAX_DEPTH or its index does not fit its depth.
    error InvalidOpening(uint256 index, uint256 depth);

    /// @notice One sibling on a leaf's path to the root: its hash and the weight sum below it.
    struct Sibling {
        bytes32 hash;
        uint256 sum;
    }

    /// @notice Leaf hash of trainer `trainer` at commit index `index` of round `roundId` with `weight`.
    /// Padding leaves (beyond the round's trainers) are `leaf(roundId, i, address(0), 0)`.
    function leaf(uint256 roundId, uint256 index, address trainer, uint256 weight) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x00), roundId, index, trainer, weight));
    }

    /// @notice Inner node hash over two children and their sums.
    function node(bytes32 left, uint256 leftSum, bytes32 right, uint256 rightSum) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x01), left, leftSum, right, rightSum));
    }

    /// @notice Whether (index, trainer, weight) is a leaf of the tree with `root` and root sum `totalWeight`.
    /// @param path the siblings from the leaf's level up to the root's children (length = the tree's depth)
    function verify(
        bytes32 root,
        uint256 totalWeight,
        uint256 roundId,
        uint256 index,
        address trainer,
        uint256 weight,
        Sibling[] calldata path
    ) internal pure returns (bool) {
        uint256 depth = path.length;
        if (depth > MAX_DEPTH || index >> depth != 0) revert InvalidOpening(index, depth);
        bytes32 hash = leaf(roundId, index, trainer, weight);
        uint256 sum = weight;
        for (uint256 level = 0; level < depth; ++level) {
            Sibling calldata s = path[level];
            if ((index >> level) & 1 == 0) hash = node(hash, sum, s.hash, s.sum);
            else hash = node(s.hash, s.sum, hash, sum);
            sum += s.sum;
        }
        return hash == root && sum == totalWeight;
    }
}
