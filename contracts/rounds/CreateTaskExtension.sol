// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ITrainingRounds} from "../interfaces/ITrainingRounds.sol";
import {RoundsStorage} from "./RoundsStorage.sol";

/// @title CreateTaskExtension
/// @notice `createTask`, run at TrainingRounds' address as part of RoundsExtension: TrainingRounds keeps the
/// entry point (its ABI is ITrainingRounds) and delegatecalls here, so this acts on its storage with the
/// caller as `msg.sender`, exactly as when the function was TrainingRounds' own. Moved out because the checks
/// and the packed writes of a task's 14 fields are among the largest code in the round contract, which
/// must stay under the 24 KiB code limit, and task creation is rare and not on any deadline's path.
abstract contract CreateTaskExtension is RoundsStorage {
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
    function createTask(ITrainingRounds.TaskConfig calldata config) external whenNotPaused returns (uint256 taskId) {
        if (config.rewardPerRound == 0) revert ITrainingRounds.ZeroAmount();
        if (config.numChunks == 0) revert ITrainingRounds.InvalidChunkCount();
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
        ) revert ITrainingRounds.InvalidSchedule();
        taskId = ++_taskCount;
        ITrainingRounds.Task storage task = _tasks[taskId];
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
        emit ITrainingRounds.TaskCreated(taskId, msg.sender, config.modelRef, config.numChunks, config.rewardPerRound);
        emit ITrainingRounds.TaskRules(taskId, config.specHash, config.ruleId, config.proven, config.answerWindow);
    }

    /// @notice Makes `childTaskId` a group task of `parentTaskId` (docs §7, hierarchical rounds): from now on
    /// a finalized round of the child, opened on the parent's current model, can be committed into the
    /// parent's open round by the aggregator that finalized it (`commitPartial`), and the parent's rounds take
    /// nothing else. Every level is then an ordinary round: each child round's aggregate is proven and its
    /// aggregator slashed for a wrong one by the child round's own challenge game, and the parent's aggregate
    /// over the partials by the parent round's.
    /// @dev Requirements: the caller created both tasks; both open, distinct, the same chunk count (one model);
    /// the child proven (an unproven partial could lie unslashed) and not linked before. The child's rounds opened
    /// before the link take no more updates and no partial of theirs is taken (their trainers were not drawn into
    /// groups: TrainingRounds.commitUpdate, commitPartial). A task may be the
    /// child of one parent and the parent of many; a parent may itself be a child (more levels), up to
    /// MAX_TASK_LEVELS levels and never its own ancestor (a cycle would take only partials at every level: no
    /// round of it could ever finalize).
    /// @param childTaskId the group task
    /// @param parentTaskId the task its partials go to
    function linkTask(uint256 childTaskId, uint256 parentTaskId) external whenNotPaused {
        ITrainingRounds.Task storage child = _tasks[childTaskId];
        ITrainingRounds.Task storage parent = _tasks[parentTaskId];
        if (
            childTaskId == parentTaskId ||
            child.creator != msg.sender ||
            parent.creator != msg.sender ||
            child.closed ||
            parent.closed ||
            !child.proven ||
            child.numChunks != parent.numChunks ||
            _parentTask[childTaskId] != 0
        ) revert ITrainingRounds.InvalidLink(childTaskId, parentTaskId);
        // Walk up from the parent (at most MAX_TASK_LEVELS steps, as every existing chain is within it): the child
        // must not be found (a cycle), and the levels through the new link must fit.
        uint256 below = _levelsBelow[childTaskId] + 1; // levels under `up` through the child
        for (uint256 up = parentTaskId; up != 0; up = _parentTask[up]) {
            if (up == childTaskId || below >= MAX_TASK_LEVELS) revert ITrainingRounds.InvalidLink(childTaskId, parentTaskId);
            if (_levelsBelow[up] < below) _levelsBelow[up] = below;
            ++below;
        }
        _parentTask[childTaskId] = parentTaskId;
        _groupIndex[childTaskId] = _groupCount[parentTaskId]++;
        parent.partialsOnly = true;
        emit ITrainingRounds.TaskLinked(childTaskId, parentTaskId);
    }
}
