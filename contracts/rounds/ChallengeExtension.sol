// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ITrainingRounds} from "../interfaces/ITrainingRounds.sol";
import {RoundsStorage} from "./RoundsStorage.sol";

/// @title ChallengeExtension
/// @notice Opening a bonded chunk challenge (`challenge`), run at TrainingRounds' address as part of
/// RoundsExtension: TrainingRounds keeps the entry point (its ABI is ITrainingRounds) and delegatecalls here,
/// so this acts on its storage and transient flags (the reentrancy lock, the revealed reporter) with the
/// caller as `msg.sender`, exactly as when it was TrainingRounds' own (RoundChallenges answers and settles).
/// Moved out to keep TrainingRounds under the 24 KiB code limit; it costs a challenger one delegatecall.
abstract contract ChallengeExtension is RoundsStorage {
    using SafeERC20 for IERC20;

    /// @notice Challenges chunk `chunkIndex` of a proven round's aggregate, locking the round's bond,
    /// max(`challengeBond`, emission / 8) (`challengeBondOf`; approve first). Sent through `revealReport` (committed a block earlier), a failed answer
    /// returns the bond plus the reporter's share of the slash; sent directly, the bond only, so a challenge
    /// copied from the mempool earns nothing. An answered challenge forfeits the bond (to the aggregator if the round finalizes, to the task pool if
    /// it fails). The answer deadline is one answer window after the later of now and the round's last answer
    /// deadline. Never paused: the challenge window runs on during a pause.
    /// @param roundId the round, in Challenging before its challenge deadline
    /// @param chunkIndex the chunk, below the round's chunk count and not challenged yet (chained proofs: the
    /// (chunk, link) cell `chunk * numLinks + link`, below chunks * links)
    function challenge(uint256 roundId, uint256 chunkIndex) external nonReentrant {
        ITrainingRounds.Round storage round = _rounds[roundId];
        if (round.state != ITrainingRounds.RoundState.Challenging) {
            revert ITrainingRounds.WrongState(roundId, round.state);
        }
        if (!round.proven) revert ITrainingRounds.UnprovenRound(roundId);
        if (block.timestamp > round.challengeDeadline) revert ITrainingRounds.DeadlinePassed(round.challengeDeadline);
        if (chunkIndex >= _cellCount(round)) revert ITrainingRounds.InvalidChunk(chunkIndex, round.numChunks);
        if (_challenges[roundId][chunkIndex].status != ITrainingRounds.ChallengeStatus.None) {
            revert ITrainingRounds.AlreadyChallenged(chunkIndex);
        }
        if (round.challengeCount >= MAX_CHALLENGES_PER_ROUND) revert ITrainingRounds.ChallengeLimit(roundId);
        if (!registry.isActiveOperator(msg.sender)) revert ITrainingRounds.NotActiveOperator(msg.sender);
        uint256 bond = _challengeBondOf(round);
        _totalBonds += bond;
        _openChallenge(roundId, round, chunkIndex, msg.sender, bond);
        if (_revealedReporter() == msg.sender) _challenges[roundId][chunkIndex].revealed = true;
        token.safeTransferFrom(msg.sender, address(this), bond);
    }
}
