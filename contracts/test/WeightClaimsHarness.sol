// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {RoundWeightClaims} from "../rounds/RoundWeightClaims.sol";
import {WeightSumTree} from "../rounds/WeightSumTree.sol";

/// @notice Test and gas harness for RoundWeightClaims: the round's commit accumulator as TrainingRounds keeps
/// it (trainer and sample count per commit index, pushed in O(1)), the aggregator's root, the close that fixes
/// the pool, claims credited to an internal balance, fraud checks and the sweep. Not deployed by the protocol:
/// TrainingRounds runs RoundWeightClaims through RoundRewards and RoundClaimsExtension (contracts/RoundWeightRoots.t.sol).
contract WeightClaimsHarness is RoundWeightClaims {
    mapping(uint256 roundId => address[]) public trainers;
    mapping(uint256 roundId => uint64[]) public sampleCounts;
    mapping(uint256 roundId => uint256) public sampleTotal;
    mapping(address account => uint256) public credited;
    uint256 public totalCredited;

    error NotTrainerAt(uint256 index);
    error WeightAboveSamples(uint256 index);
    error TotalAboveSamples();

    /// @notice A trainer's commitment: O(1) whatever the round's size (what is measured at 16, 256, 1,000).
    function commit(uint256 roundId, bytes32 commitment, uint64 sampleCount) external {
        trainers[roundId].push(msg.sender);
        sampleCounts[roundId].push(sampleCount);
        sampleTotal[roundId] += sampleCount;
        emit Committed(roundId, msg.sender, commitment);
    }

    event Committed(uint256 indexed roundId, address trainer, bytes32 commitment);

    /// @notice Test set-up only: `n` commits by addresses derived from `salt`, 100 samples each.
    function seed(uint256 roundId, uint256 n, uint256 salt) external {
        for (uint256 i = 0; i < n; ++i) {
            trainers[roundId].push(address(uint160(uint256(keccak256(abi.encode(salt, i))))));
            sampleCounts[roundId].push(100);
        }
        sampleTotal[roundId] += 100 * n;
    }

    function trainerCount(uint256 roundId) external view returns (uint256) {
        return trainers[roundId].length;
    }

    /// @notice The aggregator's post: O(1) whatever the round's size.
    function postWeights(uint256 roundId, bytes32 root, uint256 totalWeight) external {
        if (totalWeight > sampleTotal[roundId]) revert TotalAboveSamples();
        _postWeightsRoot(roundId, root, totalWeight, trainers[roundId].length);
    }

    function close(uint256 roundId, uint256 pool, uint64 claimDeadline) external {
        _fundClaims(roundId, pool, claimDeadline);
    }

    /// @notice The caller claims its leaf at `index`.
    function claim(uint256 roundId, uint256 index, uint256 weight, WeightSumTree.Sibling[] calldata path)
        external
        returns (uint256 share)
    {
        if (index >= trainers[roundId].length || trainers[roundId][index] != msg.sender) revert NotTrainerAt(index);
        if (weight > sampleCounts[roundId][index]) revert WeightAboveSamples(index);
        share = _claimShare(roundId, index, msg.sender, weight, path);
        credited[msg.sender] += share;
        totalCredited += share;
    }

    function isWeightFraud(
        uint256 roundId,
        uint256 index,
        address trainer,
        uint256 weight,
        WeightSumTree.Sibling[] calldata path
    ) external view returns (bool) {
        bool inRound = index < trainers[roundId].length;
        address committed = inRound ? trainers[roundId][index] : address(0);
        uint256 samples = inRound ? sampleCounts[roundId][index] : 0;
        return _isWeightFraud(roundId, index, trainer, weight, path, committed, samples);
    }

    function sweep(uint256 roundId) external returns (uint256) {
        return _sweep(roundId);
    }

    function claimsOf(uint256 roundId)
        external
        view
        returns (bytes32 root, uint256 totalWeight, uint256 pool, uint256 paid, bool funded, bool swept)
    {
        return _claimsView(roundId);
    }

    function isClaimed(uint256 roundId, uint256 index) external view returns (bool) {
        return _isClaimed(roundId, index);
    }
}
