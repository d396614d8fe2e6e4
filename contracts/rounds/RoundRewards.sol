// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {RoundWeightClaims} from "./RoundWeightClaims.sol";
import {RoundsBase} from "./RoundsBase.sol";

/// @title RoundRewards
/// @notice Exact, pull-based payouts: closing a round credits its emission to trainers and the aggregator,
/// bonds and rewards accumulate per account, and `claim` transfers them.
abstract contract RoundRewards is RoundsBase, RoundWeightClaims {
    using SafeERC20 for IERC20;

    uint256 private _totalClaimable;
    mapping(address account => uint256) private _claimable;

    /// @notice Transfers everything credited to the caller (rewards, bonds). Never blocked by the pause.
    /// @return amount the tokens transferred
    function claim() external nonReentrant returns (uint256 amount) {
        amount = _claimable[msg.sender];
        if (amount == 0) revert NothingToClaim();
        _claimable[msg.sender] = 0;
        _totalClaimable -= amount;
        emit RewardClaimed(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice What `account` can claim now.
    /// @param account the account
    /// @return its credited, unclaimed tokens
    function claimable(address account) external view returns (uint256) {
        return _claimable[account];
    }

    /// @notice Accounting totals: all funding ever received, rewards credited but unclaimed, bonds locked.
    /// @return funded all tokens ever added to task pools
    /// @return unclaimed credited but not yet claimed
    /// @return bonds challenge bonds held
    function totals() external view returns (uint256 funded, uint256 unclaimed, uint256 bonds) {
        return (_totalFunded, _totalClaimable, _totalBonds);
    }

    /// @inheritdoc RoundsBase
    /// @dev Finalized pays trainers by accepted weights and the aggregator its share. Failed this way pays
    /// nobody: either nothing was posted (no trainer provably delivered) or nobody was slashed (a contested
    /// round, or one whose aggregate was empty) and paying trainers would let an aggregator with sybil
    /// trainers earn from a round it made fail.
    function _close(uint256 roundId, Round storage round, RoundState state) internal override {
        _settle(roundId, round, state, 0, state == RoundState.Finalized);
    }

    /// @dev A contested round (its challenge slots filled, every challenge answered in time): its model must
    /// not advance (a wrong chunk might have gone unchallenged), but nobody provably cheated, so it pays as a
    /// finalized round would. A griefer who filled the slots paid bonds of up to twice the emission for nothing.
    function _closeContested(uint256 roundId, Round storage round) internal {
        _settle(roundId, round, RoundState.Failed, 0, true);
    }

    /// @inheritdoc RoundsBase
    /// @dev A posted weight > 0 is the aggregator's own on-chain statement that it received and accepted the
    /// trainer's update: the only delivery proof the chain has. A rejected (poisoning) or withholding trainer
    /// has weight 0 and gets nothing. The cap makes paying them sound against a cheating aggregator that posts
    /// weight for its own sybils and then fails the round: they get at most FAILED_ROUND_PAYOUT_BPS of what
    /// it lost.
    function _closeFailedAfterSlash(uint256 roundId, Round storage round, uint256 slashed) internal override {
        _settle(roundId, round, RoundState.Failed, (slashed * FAILED_ROUND_PAYOUT_BPS) / BPS, false);
    }

    /// @dev Closes a round and credits its emission exactly; `paid` pays trainers by weight and the aggregator
    /// its share (finalized and contested rounds); otherwise trainers of a failed round share at most
    /// `failedTrainerCap` by posted weight. Floor-division dust and unpaid shares go back to the task's pool.
    /// A round above MAX_WEIGHTS_ARRAY trainers posted a weight tree instead: its trainers' pool is held for
    /// their claims (RoundClaimsExtension; counted as paid to trainers in `RoundClosed`), and what they leave
    /// returns to the pool at the sweep, so no loop runs over them here.
    function _settle(
        uint256 roundId,
        Round storage round,
        RoundState state,
        uint256 failedTrainerCap,
        bool paid
    ) private {
        round.state = state;
        Task storage task = _tasks[round.taskId];
        task.activeRound = 0;
        uint256 emission = round.emission;
        uint256 n = round.trainers.length;
        uint256 aggregatorShare = n == 0 ? 0 : (emission * _paramsOf(round).aggregatorRewardBps) / BPS;
        uint256 trainerPool = n == 0 ? 0 : emission - aggregatorShare;
        if (!paid) {
            if (!round.posted) trainerPool = 0;
            else if (failedTrainerCap < trainerPool) trainerPool = failedTrainerCap;
        }
        uint256 paidTrainers;
        if (trainerPool != 0 && n > MAX_WEIGHTS_ARRAY) {
            if (_weightsTotal(roundId) != 0) {
                _fundClaims(roundId, trainerPool, uint64(block.timestamp + CLAIM_WINDOW));
                paidTrainers = trainerPool;
            }
        } else if (trainerPool != 0) {
            uint64[] storage weights = round.weights;
            uint256 totalWeight;
            for (uint256 i = 0; i < n; ++i) totalWeight += weights[i];
            if (totalWeight != 0) {
                for (uint256 i = 0; i < n; ++i) {
                    uint256 share = (trainerPool * weights[i]) / totalWeight;
                    if (share != 0) {
                        paidTrainers += share;
                        _credit(roundId, round.trainers[i], share, false);
                    }
                }
            }
        }
        uint256 paidAggregator;
        if (paid && aggregatorShare != 0) {
            paidAggregator = aggregatorShare;
            _credit(roundId, round.aggregator, aggregatorShare, false);
        }
        uint256 returned = emission - paidTrainers - paidAggregator;
        task.rewardPool += returned;
        emit RoundClosed(roundId, state, paidTrainers, paidAggregator, returned);
    }

    /// @dev Credits `amount` to `account`; a bond's amount leaves the held-bonds total. A round reward (not a
    /// bond, not a funder's refund) is earned with the operator's delegators' stake too: the registry keeps
    /// their part (commission off, pro rata) and it is transferred there; the operator is credited the rest.
    function _credit(uint256 roundId, address account, uint256 amount, bool fromBond) internal override {
        if (fromBond) _totalBonds -= amount;
        else if (roundId != 0) {
            uint256 toDelegators = registry.creditRewards(account, amount);
            if (toDelegators != 0) {
                amount -= toDelegators;
                token.safeTransfer(address(registry), toDelegators);
            }
        }
        _claimable[account] += amount;
        _totalClaimable += amount;
        emit RewardCredited(roundId, account, amount);
    }
}
