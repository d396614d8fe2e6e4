// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAggregationVerifier} from "../interfaces/IAggregationVerifier.sol";
import {RoundsBase} from "./RoundsBase.sol";

/// @title RoundParams
/// @notice The owner's powers over the round contract: bounded parameters and the verifier, both queued and
/// taking effect only after a delay longer than the registry's unbonding delay (so an operator who disagrees
/// can unstake and leave first), for rounds opened after that; and the pause, which never stops a deadline
/// that could cost anyone stake. The owner cannot reduce any stake. SECURITY.md lists what it can do.
abstract contract RoundParams is RoundsBase {
    /// @dev Newest parameter version; it is in force once `_latestParamsTime` has passed, else its
    /// predecessor is. A queued version not yet in force is overwritten by the next `queueParams`.
    uint32 private _latestParams;
    uint64 private _latestParamsTime;
    IAggregationVerifier private _activeVerifier;
    IAggregationVerifier private _queuedVerifier;
    uint64 private _queuedVerifierTime;

    /// @notice Queues new parameters within their hard bounds. Only the owner. They apply to rounds opened
    /// at or after `block.timestamp + changeDelay()`; rounds opened before keep the version they opened with.
    /// Queuing again before that replaces the queued version (and restarts the delay).
    /// @param params_ the new parameters
    function queueParams(Params calldata params_) external onlyOwner {
        _checkParams(params_);
        uint64 effectiveTime = uint64(block.timestamp + changeDelay());
        if (_latestParamsTime > block.timestamp) {
            _paramsAt[_latestParams] = params_; // replace the queued version, not yet in force
        } else {
            _paramsAt[++_latestParams] = params_;
        }
        _latestParamsTime = effectiveTime;
        emit ParamsQueued(params_, effectiveTime);
    }

    /// @notice Queues the verifier for rounds opened at or after `block.timestamp + changeDelay()`; rounds
    /// opened before keep theirs. Only the owner. Queuing again replaces a queued verifier not yet in force.
    /// @param verifier_ the new verifier (non-zero)
    function queueVerifier(IAggregationVerifier verifier_) external onlyOwner {
        if (address(verifier_) == address(0)) revert ZeroAddress();
        _promoteVerifier();
        uint64 effectiveTime = uint64(block.timestamp + changeDelay());
        _queuedVerifier = verifier_;
        _queuedVerifierTime = effectiveTime;
        emit VerifierQueued(address(verifier_), effectiveTime);
    }

    /// @notice Pauses task creation, round opening and commits. Never the challenge game (challenges,
    /// answers, disputes, reports), finalization, claims or refunds: the clock keeps running during a pause,
    /// so nothing that meets a deadline or defends stake may be blocked. Only the owner.
    function pause() external onlyOwner {
        _pause();
    }

    /// @notice Lifts the pause. Only the owner.
    function unpause() external onlyOwner {
        _unpause();
    }

    /// @notice How long a queued change waits: the registry's unbonding delay plus the longest round, so an
    /// operator that starts unbonding when a change is queued is out, and its rounds judged, before it applies.
    /// @return seconds from queuing to effect
    function changeDelay() public view returns (uint256) {
        return registry.unbondingDelay() + MAX_ROUND_DURATION;
    }

    /// @notice Parameters in force for rounds opened now.
    /// @return the parameters
    function params() external view returns (Params memory) {
        return _paramsAt[_currentParamsVersion()];
    }

    /// @notice The parameters round `roundId` opened with (zero-valued for an unknown round).
    /// @param roundId the round
    /// @return the round's parameters
    function roundParams(uint256 roundId) external view returns (Params memory) {
        return _paramsOf(_rounds[roundId]);
    }

    /// @notice Queued parameters not yet in force, and when they take effect (time 0: none queued).
    /// @return queued the queued parameters (zero-valued if none)
    /// @return effectiveTime when they apply to newly opened rounds
    function pendingParams() external view returns (Params memory queued, uint64 effectiveTime) {
        if (_latestParamsTime > block.timestamp) return (_paramsAt[_latestParams], _latestParamsTime);
    }

    /// @notice The verifier rounds opened now use.
    /// @return the verifier
    function verifier() external view returns (IAggregationVerifier) {
        return _currentVerifier();
    }

    /// @notice A queued verifier not yet in force and when it takes effect (zero address: none).
    /// @return queued the queued verifier
    /// @return effectiveTime when it applies to newly opened rounds
    function pendingVerifier() external view returns (IAggregationVerifier queued, uint64 effectiveTime) {
        if (_queuedVerifierTime > block.timestamp) return (_queuedVerifier, _queuedVerifierTime);
    }

    /// @dev Sets the first parameters and verifier, in force at once (constructor only).
    function _initParams(Params memory p, IAggregationVerifier verifier_) internal {
        if (address(verifier_) == address(0)) revert ZeroAddress();
        _checkParams(p);
        _paramsAt[1] = p;
        _latestParams = 1;
        _activeVerifier = verifier_;
        emit ParamsChanged(p);
        emit VerifierChanged(address(verifier_));
    }

    /// @dev The version in force now (what a round opened now records).
    function _currentParamsVersion() internal view returns (uint32) {
        return _latestParamsTime > block.timestamp ? _latestParams - 1 : _latestParams;
    }

    /// @dev The verifier in force now.
    function _currentVerifier() internal view returns (IAggregationVerifier) {
        if (_queuedVerifierTime != 0 && _queuedVerifierTime <= block.timestamp) return _queuedVerifier;
        return _activeVerifier;
    }

    /// @dev Moves a queued verifier that is in force into the active slot.
    function _promoteVerifier() private {
        if (_queuedVerifierTime != 0 && _queuedVerifierTime <= block.timestamp) {
            _activeVerifier = _queuedVerifier;
            delete _queuedVerifier;
            _queuedVerifierTime = 0;
        }
    }

    /// @dev Reverts `ParamsOutOfBounds` unless `p` is within the hard bounds. The bounds keep every fault's
    /// slash at or below half the operator's stake, an aggregator fault at least the trainer rate (so an
    /// aggregator gains nothing by being slashed in the other role), sampling on, and bonds non-zero.
    function _checkParams(Params memory p) private pure {
        if (
            p.maxTrainersPerRound == 0 ||
            p.maxTrainersPerRound > MAX_TRAINERS_PER_ROUND ||
            p.maxSamplesPerTrainer == 0 ||
            p.maxSamplesPerTrainer > MAX_WEIGHT ||
            p.aggregatorRewardBps > BPS / 2 ||
            p.trainerSlashBps == 0 ||
            p.aggregatorSlashBps < p.trainerSlashBps ||
            p.aggregatorSlashBps > BPS / 2 ||
            p.sampledChunks == 0 ||
            p.sampledChunks > MAX_SAMPLED_CHUNKS ||
            p.challengeBond == 0 ||
            p.challengeBond > type(uint96).max
        ) revert ParamsOutOfBounds();
    }
}
