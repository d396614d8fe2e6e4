// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAggregationVerifier} from "../interfaces/IAggregationVerifier.sol";
import {RoundsBase} from "./RoundsBase.sol";

/// @title RoundParams
/// @notice The owner's powers over the round contract: bounded parameters, the verifier for new rounds and
/// the pause. SECURITY.md says what the owner can and cannot do with them.
abstract contract RoundParams is RoundsBase {
    /// @notice Replaces the parameters within their hard bounds. Only the owner. Rounds already open keep
    /// their deadlines; bonds and slash shares apply from the next action.
    /// @param params_ the new parameters
    function setParams(Params calldata params_) external onlyOwner {
        _setParams(params_);
    }

    /// @notice Sets the verifier used by rounds opened from now on; open rounds keep theirs. Only the owner.
    /// @param verifier_ the new verifier (non-zero)
    function setVerifier(IAggregationVerifier verifier_) external onlyOwner {
        _setVerifier(verifier_);
    }

    /// @notice Pauses task creation, round opening, commits and challenges. Claims, answers, finalization
    /// and slashing stay open so nobody's funds or defence are blocked. Only the owner.
    function pause() external onlyOwner {
        _pause();
    }

    /// @notice Lifts the pause. Only the owner.
    function unpause() external onlyOwner {
        _unpause();
    }

    /// @notice Current parameters.
    /// @return the parameters in force
    function params() external view returns (Params memory) {
        return _params;
    }

    /// @notice The verifier for new rounds.
    /// @return the verifier rounds opened now will use
    function verifier() external view returns (IAggregationVerifier) {
        return _verifier;
    }

    /// @dev Sets the verifier for new rounds; reverts `ZeroAddress` for zero.
    function _setVerifier(IAggregationVerifier verifier_) internal {
        if (address(verifier_) == address(0)) revert ZeroAddress();
        _verifier = verifier_;
        emit VerifierChanged(address(verifier_));
    }

    /// @dev Checks `p` against the hard bounds and stores it; reverts `ParamsOutOfBounds` otherwise.
    function _setParams(Params memory p) internal {
        if (
            p.maxTrainersPerRound == 0 ||
            p.maxTrainersPerRound > MAX_TRAINERS_PER_ROUND ||
            p.maxSamplesPerTrainer == 0 ||
            p.aggregatorRewardBps > BPS / 2 ||
            p.aggregatorSlashBps == 0 ||
            p.aggregatorSlashBps > BPS ||
            p.trainerSlashBps == 0 ||
            p.trainerSlashBps > BPS ||
            p.sampledChunks > MAX_SAMPLED_CHUNKS ||
            p.answerWindow < MIN_WINDOW ||
            p.answerWindow > MAX_ROUND_DURATION / 4 ||
            p.challengeBond > type(uint96).max
        ) revert ParamsOutOfBounds();
        _params = p;
        emit ParamsChanged(p);
    }
}
