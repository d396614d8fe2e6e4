// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {WeightSumTree} from "./WeightSumTree.sol";

/// @title RoundWeightClaims
/// @notice Trainer rewards of a round with any number of trainers, in gas flat per trainer: the aggregator
/// posts a WeightSumTree root of (index, trainer, weight) and the total instead of a weights array; when the
/// round closes its trainer pool is fixed; each trainer then claims `pool · weight / totalWeight` with its
/// opening. Nothing loops over the round's trainers (issue #21; docs/scaling.md "Rounds of any size").
/// @dev Exactness: the sum tree bounds every set of distinct openings by the posted total, and `paid` is
/// checked against the pool on every claim as well, so `paid <= pool` always and `pool - paid` (floor dust,
/// weight-0 trainers, unclaimed shares) is exactly what `_sweep` returns after the claim deadline. The
/// aggregator's lies are provable one leaf at a time (`_isWeightFraud`): a leaf naming someone other than the
/// trainer who committed at that index, a weight above its committed sample count, or a non-zero weight past
/// the round's last trainer. State lives in a namespaced slot (ERC-7201), so a contract composing this (or
/// running it by delegatecall on another contract's storage) never meets its own layout.
abstract contract RoundWeightClaims {
    /// @custom:storage-location erc7201:vain.storage.RoundWeightClaims
    struct ClaimsStorage {
        mapping(uint256 roundId => RoundClaims) rounds;
        uint256 held; // every funded, unswept round's pool - paid: tokens the contract holds for claims
    }

    /// @notice One round's claims. `pool` is set once, when the round closes (0 before: nothing claimable).
    struct RoundClaims {
        bytes32 root;
        uint128 totalWeight;
        uint32 trainers; // leaves at index >= trainers must be weight 0
        uint64 claimDeadline; // after it, `_sweep` returns what is left
        uint128 pool;
        uint128 paid;
        bool funded;
        bool swept;
        mapping(uint256 word => uint256 bits) claimed;
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("vain.storage.RoundWeightClaims")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant CLAIMS_SLOT = 0x4f306ccee075f6318c882691f7ab812e6923ec1dd9ae61fd5183464b5e59ee00;

    /// @notice The weights root was already posted for this round.
    error WeightsAlreadyPosted(uint256 roundId);
    /// @notice A zero root (it would mark the round as not posted) or a zero total (nothing to share).
    error InvalidWeightsRoot(uint256 roundId);
    /// @notice A weight-0 leaf earns nothing: there is nothing to claim.
    error ZeroWeight(uint256 roundId, uint256 index);
    /// @notice The round's pool is not fixed yet (not closed), or was already fixed or swept.
    error ClaimsNotOpen(uint256 roundId);
    /// @notice The trainer at `index` already claimed.
    error AlreadyClaimed(uint256 roundId, uint256 index);
    /// @notice The opening is not a leaf of the posted tree.
    error NotInWeightTree(uint256 roundId, uint256 index);
    /// @notice The claim deadline has not passed (sweep) or has (claim).
    error ClaimWindow(uint64 claimDeadline);

    event WeightsRootPosted(uint256 indexed roundId, bytes32 root, uint256 totalWeight, uint256 trainers);
    event TrainerShareClaimed(uint256 indexed roundId, uint256 indexed index, address trainer, uint256 share);
    event ClaimsSwept(uint256 indexed roundId, uint256 returned);

    /// @dev Records the aggregator's tree for a round with `trainers` committed trainers.
    function _postWeightsRoot(uint256 roundId, bytes32 root, uint256 totalWeight, uint256 trainers) internal {
        RoundClaims storage c = _claims(roundId);
        if (c.root != bytes32(0)) revert WeightsAlreadyPosted(roundId);
        // All-zero weights close a round without a tree (TrainingRounds: nothing delivered, nobody paid).
        if (root == bytes32(0) || totalWeight == 0) revert InvalidWeightsRoot(roundId);
        c.root = root;
        c.totalWeight = SafeCast.toUint128(totalWeight);
        c.trainers = SafeCast.toUint32(trainers);
        emit WeightsRootPosted(roundId, root, totalWeight, trainers);
    }

    /// @dev Forgets a round's unfunded root, so its aggregator can post another (before its aggregate: a backup
    /// aggregator that took the round over replaces the missed one's).
    function _clearWeightsRoot(uint256 roundId) internal {
        RoundClaims storage c = _claims(roundId);
        if (c.funded) revert ClaimsNotOpen(roundId);
        (c.root, c.totalWeight, c.trainers) = (bytes32(0), 0, 0);
    }

    /// @dev Fixes the round's trainer pool (the round closed, once: its state leaves Open for good); claims run
    /// until `claimDeadline`. Lean on purpose: TrainingRounds runs it, near the 24 KiB code limit; `pool` is at
    /// most the round's emission, so below 2^128 for any token whose supply is (VainToken's cap is far below).
    function _fundClaims(uint256 roundId, uint256 pool, uint64 claimDeadline) internal {
        RoundClaims storage c = _claims(roundId);
        c.funded = true;
        c.pool = uint128(pool);
        c.claimDeadline = claimDeadline; // no event: the round's RoundClosed says it
        _store().held += pool;
    }

    /// @dev Pays the leaf (index, trainer, weight) its share once; the caller checked who may claim it
    /// (`trainer` committed at `index`, `weight` within its sample count) and transfers or credits `share`.
    function _claimShare(
        uint256 roundId,
        uint256 index,
        address trainer,
        uint256 weight,
        WeightSumTree.Sibling[] calldata path
    ) internal returns (uint256 share) {
        RoundClaims storage c = _claims(roundId);
        if (!c.funded || c.swept) revert ClaimsNotOpen(roundId);
        if (block.timestamp > c.claimDeadline) revert ClaimWindow(c.claimDeadline);
        if (weight == 0) revert ZeroWeight(roundId, index);
        uint256 bit = 1 << (index & 255);
        if (c.claimed[index >> 8] & bit != 0) revert AlreadyClaimed(roundId, index);
        uint256 total = c.totalWeight;
        if (!WeightSumTree.verify(c.root, total, roundId, index, trainer, weight, path)) {
            revert NotInWeightTree(roundId, index);
        }
        c.claimed[index >> 8] |= bit;
        share = (uint256(c.pool) * weight) / total; // total >= weight > 0
        c.paid += uint128(share); // share <= pool < 2^128; paid <= pool by the sum tree, checked anyway
        _store().held -= share;
        emit TrainerShareClaimed(roundId, index, trainer, share);
    }

    /// @dev After the claim deadline: closes the round's claims; returns what no claim took (to go back to
    /// the task's pool), so pool = paid + returned exactly.
    function _sweep(uint256 roundId) internal returns (uint256 returned) {
        RoundClaims storage c = _claims(roundId);
        if (!c.funded || c.swept) revert ClaimsNotOpen(roundId);
        if (block.timestamp <= c.claimDeadline) revert ClaimWindow(c.claimDeadline);
        c.swept = true;
        returned = c.pool - c.paid;
        _store().held -= returned;
        emit ClaimsSwept(roundId, returned);
    }

    /// @dev Whether the opening is a leaf of the round's posted tree that the aggregator had no right to post:
    /// another trainer than `committed` (who committed at `index`, address(0) past the last trainer), or a
    /// weight above `sampleCount` (0 past the last trainer). A true result is a slashable wrong aggregate.
    function _isWeightFraud(
        uint256 roundId,
        uint256 index,
        address trainer,
        uint256 weight,
        WeightSumTree.Sibling[] calldata path,
        address committed,
        uint256 sampleCount
    ) internal view returns (bool) {
        RoundClaims storage c = _claims(roundId);
        if (c.root == bytes32(0)) return false;
        if (!WeightSumTree.verify(c.root, c.totalWeight, roundId, index, trainer, weight, path)) return false;
        if (index >= c.trainers) return weight != 0;
        return weight > sampleCount || (weight != 0 && trainer != committed);
    }

    /// @dev Views for the node and tests.
    function _claimsView(uint256 roundId)
        internal
        view
        returns (bytes32 root, uint256 totalWeight, uint256 pool, uint256 paid, bool funded, bool swept)
    {
        RoundClaims storage c = _claims(roundId);
        return (c.root, c.totalWeight, c.pool, c.paid, c.funded, c.swept);
    }

    function _isClaimed(uint256 roundId, uint256 index) internal view returns (bool) {
        return _claims(roundId).claimed[index >> 8] & (1 << (index & 255)) != 0;
    }

    /// @dev Tokens held for claims across rounds (funded, not yet claimed or swept): part of the solvency sum.
    function _claimsHeld() internal view returns (uint256) {
        return _store().held;
    }

    /// @dev The round's posted total weight (zero: no root posted).
    function _weightsTotal(uint256 roundId) internal view returns (uint256) {
        return _claims(roundId).totalWeight;
    }

    function _claims(uint256 roundId) private view returns (RoundClaims storage) {
        return _store().rounds[roundId];
    }

    function _store() private pure returns (ClaimsStorage storage s) {
        bytes32 slot = CLAIMS_SLOT;
        assembly {
            s.slot := slot
        }
    }
}
