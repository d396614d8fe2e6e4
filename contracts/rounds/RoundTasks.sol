// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {RoundsBase} from "./RoundsBase.sol";

/// @title RoundTasks
/// @notice Training tasks: funding by anyone, and closing an abandoned task so its funders get the unreserved
/// pool back, pro rata to what each put in. What the creator fixes for the task's life (model, spec hash,
/// aggregation rule, whether rounds are proven, timing) is checked and recorded by `createTask`, which runs in
/// RoundsExtension (CreateTaskExtension) to keep TrainingRounds under the 24 KiB code limit.
abstract contract RoundTasks is RoundsBase {
    using SafeERC20 for IERC20;

    mapping(uint256 taskId => mapping(address funder => uint256)) private _contributions;

    /// @notice Adds `amount` tokens to a task's reward pool (approve first). Anyone may fund an open task;
    /// each funder's contribution is recorded so a closed task refunds it pro rata.
    /// @param taskId the task, not closed
    /// @param amount tokens to transfer from the caller
    function fundTask(uint256 taskId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Task storage task = _task(taskId);
        if (task.closed) revert ClosedTask(taskId);
        task.rewardPool += amount;
        task.totalContributed += amount;
        _contributions[taskId][msg.sender] += amount;
        _totalFunded += amount;
        emit TaskFunded(taskId, msg.sender, amount, task.rewardPool);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Closes a task for good: no more rounds or funding. Its unreserved pool is then split among all
    /// its funders (the creator included) pro rata to what each ever contributed, withdrawn with
    /// `withdrawTaskRefund`: the creator cannot take other funders' money, and every funder bore the
    /// emissions already paid in the same proportion.
    /// @dev Requirements: the caller created the task; no round of it is active (a running round keeps its
    /// reserved emission and must close first).
    /// @param taskId the task
    function closeTask(uint256 taskId) external {
        Task storage task = _task(taskId);
        if (msg.sender != task.creator) revert NotTaskCreator(msg.sender);
        if (task.closed) revert ClosedTask(taskId);
        if (task.activeRound != 0) revert RoundStillActive(task.activeRound);
        task.closed = true;
        task.refundBase = task.rewardPool;
        emit TaskClosed(taskId, task.rewardPool);
    }

    /// @notice Credits the caller's share of a closed task's pool (`refundBase * contribution /
    /// totalContributed`, rounded down) to its claimable balance; `claim` transfers it. Never paused.
    /// @param taskId the closed task
    /// @return amount the share credited
    function withdrawTaskRefund(uint256 taskId) external nonReentrant returns (uint256 amount) {
        Task storage task = _task(taskId);
        if (!task.closed) revert TaskNotClosed(taskId);
        uint256 contribution = _contributions[taskId][msg.sender];
        if (contribution == 0) revert NothingToRefund(taskId);
        _contributions[taskId][msg.sender] = 0;
        amount = (task.refundBase * contribution) / task.totalContributed;
        task.rewardPool -= amount; // shares sum to at most refundBase: floor dust stays in the pool
        emit TaskRefunded(taskId, msg.sender, amount);
        if (amount != 0) _credit(0, msg.sender, amount, false);
    }

    /// @notice What `funder` put into task `taskId` and has not had refunded.
    /// @param taskId the task
    /// @param funder the funder
    /// @return its recorded contribution
    function contributionOf(uint256 taskId, address funder) external view returns (uint256) {
        return _contributions[taskId][funder];
    }
}
