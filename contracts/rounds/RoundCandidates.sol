// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {RoundsBase} from "./RoundsBase.sol";

/// @title RoundCandidates
/// @notice Aggregator duty: operators opt in as candidates, and each round's aggregator is drawn from them
/// stake-weighted once its commitments are fixed.
abstract contract RoundCandidates is RoundsBase {
    address[] private _candidates;
    mapping(address candidate => uint256 indexPlusOne) private _candidateIndex;

    /// @notice Opts the caller in or out of aggregator selection. Opting in needs active stake.
    /// @param optIn true to become a candidate, false to leave
    function setAggregatorOptIn(bool optIn) external {
        uint256 index = _candidateIndex[msg.sender];
        if (optIn) {
            if (index != 0) return;
            if (!registry.isActiveOperator(msg.sender)) revert NotActiveOperator(msg.sender);
            if (_candidates.length >= MAX_AGGREGATOR_CANDIDATES) revert TooManyCandidates();
            _candidates.push(msg.sender);
            _candidateIndex[msg.sender] = _candidates.length;
        } else {
            if (index == 0) return;
            address last = _candidates[_candidates.length - 1];
            _candidates[index - 1] = last;
            _candidateIndex[last] = index;
            _candidates.pop();
            delete _candidateIndex[msg.sender];
        }
        emit AggregatorOptIn(msg.sender, optIn);
    }

    /// @notice Chooses the round's aggregator after the commit deadline, stake-weighted among active opted-in
    /// candidates. Anyone may call. A round with no commitments closes with its emission returned.
    /// @dev Randomness: `block.prevrandao` of the selecting block mixed with the round's commitments. On
    /// mainnet a proposer can bias it by withholding a block (cost: its block reward); on a local chain it is
    /// predictable. Choosing after commitments are fixed stops trainers from knowing the aggregator early.
    /// @param roundId the round
    /// @return aggregator the selected operator (zero if nobody committed and the round closed)
    function selectAggregator(uint256 roundId) external returns (address aggregator) {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, RoundState.Open);
        if (block.timestamp <= round.commitDeadline) revert DeadlineNotReached(round.commitDeadline);
        if (round.trainers.length == 0) {
            _close(roundId, round, RoundState.Failed);
            return address(0);
        }
        uint256 seed = uint256(keccak256(abi.encode(block.prevrandao, roundId, round.commitments)));
        aggregator = _pickCandidate(seed);
        round.aggregator = aggregator;
        round.state = RoundState.Aggregating;
        emit AggregatorSelected(roundId, aggregator, seed);
    }

    /// @notice Opted-in aggregator candidates.
    /// @return the candidates, in list order
    function aggregatorCandidates() external view returns (address[] memory) {
        return _candidates;
    }

    /// @dev Walks the candidates stake-weighted: the one whose cumulative stake interval holds `seed % total`.
    function _pickCandidate(uint256 seed) private view returns (address) {
        uint256 n = _candidates.length;
        uint256[] memory stakes = new uint256[](n);
        uint256 total;
        for (uint256 i = 0; i < n; ++i) {
            address candidate = _candidates[i];
            if (registry.isActiveOperator(candidate)) {
                stakes[i] = registry.activeStake(candidate);
                total += stakes[i];
            }
        }
        if (total == 0) revert NoCandidates();
        uint256 target = seed % total;
        for (uint256 i = 0; i < n; ++i) {
            if (target < stakes[i]) return _candidates[i];
            target -= stakes[i];
        }
        revert NoCandidates(); // unreachable: target < total
    }
}
