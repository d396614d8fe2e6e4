// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ITrainingRounds} from "../interfaces/ITrainingRounds.sol";
import {RoundWeightClaims} from "./RoundWeightClaims.sol";
import {RoundsStorage} from "./RoundsStorage.sol";
import {WeightSumTree} from "./WeightSumTree.sol";

/// @title RoundClaimsExtension
/// @notice The trainer side of a large round's rewards (issue #21), run at TrainingRounds' address as part of
/// RoundsExtension (delegatecall from its fallback): a round of more than MAX_WEIGHTS_ARRAY trainers posts a
/// WeightSumTree root of (commit index, trainer, weight) and the total (`postWeightsRoot`, then `postAggregate`); closing it holds
/// the trainers' pool for claims (RoundRewards); each trainer's share is then paid here against its opening,
/// in gas flat in the round's size: nothing loops over the round's trainers.
/// @dev What keeps the aggregator's tree honest is checked on every claim, against what the round recorded at
/// commit: the leaf's trainer must be the one that committed at that index and its weight at most that
/// trainer's committed sample count. A leaf that breaks either (someone else's address, an inflated weight, a
/// non-zero padding leaf) can never be claimed: it only dilutes the other trainers' shares, which the
/// aggregator could do as well by posting them weight 0 (as with the weights array, rejecting is its call).
/// The sum tree bounds all distinct openings by the posted total, so claims never exceed the pool, and what
/// no claim took (floor dust, lies, trainers that never claim) returns to the task's pool at `sweepClaims`.
abstract contract RoundClaimsExtension is RoundsStorage, RoundWeightClaims {
    using SafeERC20 for IERC20;

    /// @notice Most trainers a round posts weights for as an array (RoundsBase.MAX_WEIGHTS_ARRAY, which this
    /// extension's storage-only base does not see): above it, a weight tree root.
    uint256 private constant MAX_WEIGHTS_ARRAY = 16;

    /// @notice A large round's leaves as its aggregator published them with the root (`postWeightsRoot`).
    event WeightLeaves(uint256 indexed roundId, bytes weights);

    /// @notice The leaf's index is past the round's trainers.
    error NotTrainerAt(uint256 roundId, uint256 index);
    /// @notice The leaf's weight is above the sample count its trainer committed.
    error WeightAboveSamples(uint256 roundId, uint256 index);

    /// @notice The aggregator of a round above MAX_WEIGHTS_ARRAY trainers commits the round's accepted weights
    /// before posting its aggregate (`postAggregate` with an empty weights array, which takes `totalWeight`
    /// from here): a WeightSumTree root over (roundId, commit index, trainer, weight) for every committed
    /// index, padded with (index, address(0), 0) leaves to a power of two, and the leaves' sum. O(1) gas
    /// whatever the round's size but for the leaves' publication (`weights`: 2 bytes a trainer). The round's
    /// aggregator may replace it until it posts the aggregate (the last `WeightLeaves` is the posted tree's).
    /// @param roundId the round, Aggregating before its aggregate deadline; only its aggregator may call
    /// @param weightsRoot the tree's root (node/proofs/weight-tree.ts), non-zero
    /// @param totalWeight the sum of the leaves' weights, non-zero (nothing accepted: post no root)
    /// @param weights each trainer's weight in commit order, 2 bytes big-endian (weights <= MAX_WEIGHT, 16
    /// bits): emitted only (`WeightLeaves`), so every trainer can rebuild the tree and its own opening from
    /// the chain alone. Not checked against the root: leaves that disagree with it only keep trainers from
    /// claiming, which the aggregator could do as well with weight 0 (the chain cannot tell who delivered).
    function postWeightsRoot(uint256 roundId, bytes32 weightsRoot, uint256 totalWeight, bytes calldata weights)
        external
    {
        ITrainingRounds.Round storage round = _rounds[roundId];
        if (round.state != ITrainingRounds.RoundState.Aggregating) {
            revert ITrainingRounds.WrongState(roundId, round.state);
        }
        if (msg.sender != round.aggregator) revert ITrainingRounds.NotAggregator(msg.sender);
        if (block.timestamp > round.aggregateDeadline) revert ITrainingRounds.DeadlinePassed(round.aggregateDeadline);
        uint256 n = round.trainers.length;
        if (n <= MAX_WEIGHTS_ARRAY) revert ITrainingRounds.InvalidWeights(); // small rounds post the array
        // Replaceable until the aggregate is posted: a backup aggregator that took the round over
        // (RoundFaults.reportMissedAggregation) posts its own tree over the missed aggregator's.
        _clearWeightsRoot(roundId);
        _postWeightsRoot(roundId, weightsRoot, totalWeight, n);
        emit WeightLeaves(roundId, weights);
    }

    /// @notice Pays the trainer that committed at `index` of `roundId` its share, `pool · weight / total`,
    /// against its opening in the posted weight tree. Anyone may call (a keeper may claim for an offline
    /// trainer); the tokens go to the trainer, less its delegators' part (to the registry, as every round
    /// reward: `creditRewards`). Once per index; only between the round's close and its claim deadline.
    /// @param roundId a closed round whose weights were posted as a root
    /// @param index the trainer's commit index (0-based, as in `getRound(roundId).trainers`)
    /// @param weight the trainer's leaf weight (its accepted sample count)
    /// @param path the leaf's siblings, leaf level first (node/proofs/weight-tree.ts)
    /// @return share the tokens paid (to the trainer and its delegators)
    function claimTrainerShare(
        uint256 roundId,
        uint256 index,
        uint256 weight,
        WeightSumTree.Sibling[] calldata path
    ) external nonReentrant returns (uint256 share) {
        ITrainingRounds.Round storage round = _rounds[roundId];
        if (index >= round.trainers.length) revert NotTrainerAt(roundId, index);
        if (weight > round.sampleCounts[index]) revert WeightAboveSamples(roundId, index);
        address trainer = round.trainers[index];
        share = _claimShare(roundId, index, trainer, weight, path);
        if (share == 0) return 0;
        uint256 toDelegators = registry.creditRewards(trainer, share);
        if (toDelegators != 0) token.safeTransfer(address(registry), toDelegators);
        if (share > toDelegators) token.safeTransfer(trainer, share - toDelegators);
    }

    /// @notice After a round's claim deadline, returns what its trainers did not claim to the task's pool
    /// (for its next rounds; a closed task's refunds were fixed at its close, so it stays there). Anyone may call.
    /// @param roundId a closed round with claims
    /// @return returned the tokens returned to the pool
    function sweepClaims(uint256 roundId) external nonReentrant returns (uint256 returned) {
        returned = _sweep(roundId);
        _tasks[_rounds[roundId].taskId].rewardPool += returned;
    }

    /// @notice A round's claims: the posted root and total weight, the held pool (0 until the round closes),
    /// what was paid, whether the pool is fixed and whether it was swept.
    function weightClaims(uint256 roundId)
        external
        view
        returns (bytes32 root, uint256 totalWeight, uint256 pool, uint256 paid, bool funded, bool swept)
    {
        return _claimsView(roundId);
    }

    /// @notice Whether the trainer at `index` of `roundId` claimed its share.
    function isShareClaimed(uint256 roundId, uint256 index) external view returns (bool) {
        return _isClaimed(roundId, index);
    }

    /// @notice Tokens held for trainers' claims across rounds (part of the contract's solvency sum).
    function claimsHeld() external view returns (uint256) {
        return _claimsHeld();
    }
}
