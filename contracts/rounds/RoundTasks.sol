// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {RoundsBase} from "./RoundsBase.sol";

/// @title RoundTasks
/// @notice Training tasks: what the creator fixes for the task's life (model, spec hash, aggregation rule,
/// whether rounds are proven, timing), funding by anyone, and closing an abandoned task so its funders get
/// the unreserved pool back, pro rata to what each put in.
abstract contract RoundTasks is RoundsBase {
    using SafeERC20 for IERC20;

    mapping(uint256 taskId => mapping(address funder => uint256)) private _contributions;

    /// @notice Registers a training task, funded later via `fundTask`. Everything in `config` is fixed for
    /// the task's life: operators decide whether to serve it knowing its rule, whether its rounds must be
    /// proven and its windows, and nobody (the aggregator, the creator, the owner) changes them afterwards.
    /// `numChunks` is the model's chunk count in the commitment scheme (docs §4: ceil(parameters / 64)): it
    /// decides which chunks can be sampled and how deep every Merkle opening of the task's commitments is.
    /// @dev Requirements: not paused; `rewardPerRound > 0`; `numChunks > 0`; every window >= MIN_WINDOW;
    /// commit + 4 aggregate (the selection window, the selected aggregator's full window, the window in which its
    /// backup may take over a miss, then the backup's full window) + challenge +
    /// MAX_CHALLENGES_PER_ROUND answer windows (each challenge's spaced answer window) + the dispute window
    /// (the last answer's statement stays disputable) <= MAX_ROUND_DURATION, the longest a round can run with every step at its last
    /// second; `roundInterval <= MAX_ROUND_INTERVAL`.
    /// @param config the task's model, rules and schedule
    /// @return taskId the new task's ID
    function createTask(TaskConfig calldata config) external whenNotPaused returns (uint256 taskId) {
        if (config.rewardPerRound == 0) revert ZeroAmount();
        if (config.numChunks == 0) revert InvalidChunkCount();
        if (
            config.commitWindow < MIN_WINDOW ||
            config.aggregateWindow < MIN_WINDOW ||
            config.challengeWindow < MIN_WINDOW ||
            config.answerWindow < MIN_WINDOW ||
            config.disputeWindow < MIN_WINDOW ||
            config.roundInterval > MAX_ROUND_INTERVAL ||
            uint256(config.commitWindow) +
                4 *
                uint256(config.aggregateWindow) +
                config.challengeWindow +
                MAX_CHALLENGES_PER_ROUND *
                uint256(config.answerWindow) +
                config.disputeWindow >
            MAX_ROUND_DURATION
        ) revert InvalidSchedule();
        taskId = ++_taskCount;
        Task storage task = _tasks[taskId];
        task.creator = msg.sender;
        task.modelRef = config.modelRef;
        task.specHash = config.specHash;
        task.numChunks = config.numChunks;
        task.ruleId = config.ruleId;
        task.proven = config.proven;
        task.rewardPerRound = config.rewardPerRound;
        task.commitWindow = config.commitWindow;
        task.aggregateWindow = config.aggregateWindow;
        task.challengeWindow = config.challengeWindow;
        task.answerWindow = config.answerWindow;
        task.disputeWindow = config.disputeWindow;
        task.roundInterval = config.roundInterval;
        task.nextOpenTime = uint64(block.timestamp);
        emit TaskCreated(taskId, msg.sender, config.modelRef, config.numChunks, config.rewardPerRound);
        emit TaskRules(taskId, config.specHash, config.ruleId, config.proven, config.answerWindow);
    }

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
