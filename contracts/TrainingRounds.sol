// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IAggregationVerifier} from "./interfaces/IAggregationVerifier.sol";
import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";
import {RoundCandidates} from "./rounds/RoundCandidates.sol";
import {RoundChallenges} from "./rounds/RoundChallenges.sol";
import {RoundFaults} from "./rounds/RoundFaults.sol";
import {RoundParams} from "./rounds/RoundParams.sol";
import {RoundRewards} from "./rounds/RoundRewards.sol";
import {RoundsBase} from "./rounds/RoundsBase.sol";

/// @title TrainingRounds
/// @notice The on-chain life of a federated training round: tasks and their reward pools, rounds opened
/// permissionlessly on schedule, trainer commitments, stake-weighted aggregator selection, the aggregate,
/// sampled and bonded chunk challenges answered with zk proofs, slashing of provable faults, and exact,
/// pull-based rewards. See docs/protocol.md §3 for the lifecycle.
/// @dev This contract holds tasks and the round's main line (open, commit, post, finalize) and composes
/// the concerns: RoundParams (owner), RoundRewards (close, credit, claim), RoundCandidates (aggregator
/// selection), RoundChallenges (the challenge game) and RoundFaults (missed deadlines, equivocation).
contract TrainingRounds is RoundParams, RoundRewards, RoundCandidates, RoundChallenges, RoundFaults {
    using SafeERC20 for IERC20;

    /// @param token_ the reward token (same as the staked token)
    /// @param registry_ the stake registry; this contract must be set as its slasher
    /// @param verifier_ the aggregation proof verifier for new rounds
    /// @param owner_ the parameter owner (two-step ownership)
    /// @param params_ initial parameters, checked against hard bounds
    constructor(
        IERC20 token_,
        IStakeRegistry registry_,
        IAggregationVerifier verifier_,
        address owner_,
        Params memory params_
    ) RoundsBase(token_, registry_) Ownable(owner_) EIP712("vAIn TrainingRounds", "1") {
        if (address(verifier_) == address(0)) revert ZeroAddress();
        _setParams(params_);
        _setVerifier(verifier_);
    }

    // ================================================================ tasks

    /// @notice Registers a training task with its initial model and schedule, funded later via `fundTask`.
    /// `numChunks` is the model's chunk count in the commitment scheme (docs §4: ceil(parameters / 64)). It is
    /// fixed here, not by each aggregator, because it decides which chunks can be sampled and how deep every
    /// Merkle opening of the task's commitments is.
    /// @dev Requirements: `numChunks > 0`; every window >= MIN_WINDOW; commit + aggregate + challenge + 2
    /// answer windows (the last answer and its dispute window) <= MAX_ROUND_DURATION; `rewardPerRound > 0`.
    /// @param modelRef content hash of the initial global model
    /// @param numChunks the model's chunk count in the commitment scheme
    /// @param rewardPerRound tokens emitted per round (less if the pool holds less)
    /// @param commitWindow seconds trainers have to commit after a round opens
    /// @param aggregateWindow seconds the aggregator has after the commit deadline
    /// @param challengeWindow seconds chunks may be challenged after the aggregate deadline
    /// @param roundInterval minimum seconds between round openings
    /// @return taskId the new task's ID
    function createTask(
        bytes32 modelRef,
        uint32 numChunks,
        uint256 rewardPerRound,
        uint64 commitWindow,
        uint64 aggregateWindow,
        uint64 challengeWindow,
        uint64 roundInterval
    ) external whenNotPaused returns (uint256 taskId) {
        if (rewardPerRound == 0) revert ZeroAmount();
        if (numChunks == 0) revert InvalidChunkCount();
        if (
            commitWindow < MIN_WINDOW ||
            aggregateWindow < MIN_WINDOW ||
            challengeWindow < MIN_WINDOW ||
            uint256(commitWindow) + aggregateWindow + challengeWindow + 2 * uint256(_params.answerWindow) >
                MAX_ROUND_DURATION
        ) revert InvalidSchedule();
        taskId = ++_taskCount;
        Task storage task = _tasks[taskId];
        task.creator = msg.sender;
        task.modelRef = modelRef;
        task.numChunks = numChunks;
        task.rewardPerRound = rewardPerRound;
        task.commitWindow = commitWindow;
        task.aggregateWindow = aggregateWindow;
        task.challengeWindow = challengeWindow;
        task.roundInterval = roundInterval;
        task.nextOpenTime = uint64(block.timestamp);
        emit TaskCreated(taskId, msg.sender, modelRef, numChunks, rewardPerRound);
    }

    /// @notice Adds `amount` tokens to a task's reward pool (approve first). Anyone may fund any task.
    /// @param taskId the task
    /// @param amount tokens to transfer from the caller
    function fundTask(uint256 taskId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Task storage task = _task(taskId);
        task.rewardPool += amount;
        _totalFunded += amount;
        emit TaskFunded(taskId, msg.sender, amount, task.rewardPool);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    // ================================================================ round lifecycle

    /// @notice Opens the task's next round when it is due. Anyone may call.
    /// @dev Reserves `min(rewardPerRound, rewardPool)` as the round's emission and snapshots the verifier.
    /// @param taskId the task
    /// @return roundId the new round's ID
    function openRound(uint256 taskId) external whenNotPaused returns (uint256 roundId) {
        Task storage task = _task(taskId);
        if (task.activeRound != 0) revert RoundStillActive(task.activeRound);
        if (block.timestamp < task.nextOpenTime) revert RoundNotDue(task.nextOpenTime);
        if (task.rewardPool == 0) revert EmptyRewardPool(taskId);
        uint256 emission = task.rewardPerRound < task.rewardPool ? task.rewardPerRound : task.rewardPool;
        task.rewardPool -= emission;
        roundId = ++_roundCount;
        task.activeRound = roundId;
        task.roundCount += 1;
        task.nextOpenTime = uint64(block.timestamp + task.roundInterval);
        Round storage round = _rounds[roundId];
        round.taskId = taskId;
        round.state = RoundState.Open;
        round.emission = emission;
        round.baseModelRef = task.modelRef;
        round.verifier = _verifier;
        round.numChunks = task.numChunks;
        round.commitDeadline = uint64(block.timestamp + task.commitWindow);
        round.aggregateDeadline = round.commitDeadline + task.aggregateWindow;
        round.challengeDeadline = round.aggregateDeadline + task.challengeWindow;
        emit RoundOpened(
            roundId,
            taskId,
            task.modelRef,
            round.commitDeadline,
            round.aggregateDeadline,
            round.challengeDeadline,
            emission
        );
    }

    /// @notice Commits the caller's update for `roundId`: an opaque commitment (docs/protocol.md §4) and its
    /// self-reported sample count, capped by `maxSamplesPerTrainer`.
    /// @dev Requirements: the caller is an active operator; the round is open; before the commit deadline;
    /// one commitment per trainer; at most `maxTrainersPerRound` trainers.
    /// @param roundId the open round
    /// @param commitment the update's commitment
    /// @param sampleCount the trainer's sample count, 1..maxSamplesPerTrainer
    function commitUpdate(uint256 roundId, bytes32 commitment, uint256 sampleCount) external whenNotPaused {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, RoundState.Open);
        if (block.timestamp > round.commitDeadline) revert DeadlinePassed(round.commitDeadline);
        if (!registry.isActiveOperator(msg.sender)) revert NotActiveOperator(msg.sender);
        if (_trainerIndex[roundId][msg.sender] != 0) revert AlreadyCommitted(msg.sender);
        if (round.trainers.length >= _params.maxTrainersPerRound) revert RoundFull(_params.maxTrainersPerRound);
        if (sampleCount == 0 || sampleCount > _params.maxSamplesPerTrainer) {
            revert InvalidSampleCount(sampleCount, _params.maxSamplesPerTrainer);
        }
        round.trainers.push(msg.sender);
        round.commitments.push(commitment);
        round.sampleCounts.push(uint64(sampleCount)); // <= maxSamplesPerTrainer (checked above)
        _trainerIndex[roundId][msg.sender] = round.trainers.length;
        emit UpdateCommitted(roundId, msg.sender, commitment, sampleCount);
    }

    /// @notice The aggregator posts the aggregate's commitment, the new model's content hash, the accepted
    /// sample weight of each trainer (0 = rejected by robust aggregation: earns nothing) and
    /// whether the rule is provable. Provable rounds get `sampledChunks` chunks challenged at once from
    /// on-chain randomness; unproven rounds (median, Krum, trimmed mean) cannot be challenged by proof.
    /// @param roundId the round, Aggregating before its aggregate deadline; only its aggregator may call
    /// @param aggregateCommitment the aggregate's commitment (docs §4)
    /// @param modelRef the new global model's content hash
    /// @param weights each trainer's accepted sample count, in commit order, <= its sample count
    /// @param proven whether the round's rule is provable (challengeable)
    function postAggregate(
        uint256 roundId,
        bytes32 aggregateCommitment,
        bytes32 modelRef,
        uint256[] calldata weights,
        bool proven
    ) external {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, RoundState.Aggregating);
        if (msg.sender != round.aggregator) revert NotAggregator(msg.sender);
        if (block.timestamp > round.aggregateDeadline) revert DeadlinePassed(round.aggregateDeadline);
        uint256 n = round.trainers.length;
        if (weights.length != n) revert InvalidWeights();
        for (uint256 i = 0; i < n; ++i) {
            if (weights[i] > round.sampleCounts[i]) revert InvalidWeights();
            round.weights.push(uint64(weights[i])); // <= a uint64 sample count
        }
        round.aggregateCommitment = aggregateCommitment;
        round.modelRef = modelRef;
        round.proven = proven;
        round.state = RoundState.Challenging;
        uint32 numChunks = round.numChunks;
        emit AggregatePosted(roundId, msg.sender, aggregateCommitment, modelRef, numChunks, proven);
        if (proven) {
            uint256 samples = _params.sampledChunks < numChunks ? _params.sampledChunks : numChunks;
            uint256 seed = uint256(keccak256(abi.encode(block.prevrandao, roundId, aggregateCommitment)));
            for (uint256 i = 0; i < samples; ++i) {
                uint256 chunk = uint256(keccak256(abi.encode(seed, i))) % numChunks;
                if (_challenges[roundId][chunk].status == ChallengeStatus.None) {
                    _openChallenge(roundId, round, chunk, address(0), 0);
                }
            }
        }
    }

    /// @notice Finalizes a round after its challenge window and its dispute deadline with every challenge
    /// answered: credits rewards and advances the task's model. Anyone may call.
    /// @param roundId the round, Challenging past its challenge and dispute deadlines
    function finalizeRound(uint256 roundId) external nonReentrant {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, RoundState.Challenging);
        if (block.timestamp <= round.challengeDeadline) revert DeadlineNotReached(round.challengeDeadline);
        if (block.timestamp <= round.disputeDeadline) revert DeadlineNotReached(round.disputeDeadline);
        if (round.pendingChallenges != 0) revert PendingChallenges(round.pendingChallenges);
        _tasks[round.taskId].modelRef = round.modelRef;
        _close(roundId, round, RoundState.Finalized);
    }

    // ================================================================ views

    /// @notice A task.
    /// @param taskId the task
    /// @return the task (zero-valued if unknown)
    function getTask(uint256 taskId) external view returns (Task memory) {
        return _tasks[taskId];
    }

    /// @notice A round, with its trainers, commitments, sample counts and accepted weights.
    /// @param roundId the round
    /// @return the round (zero-valued if unknown)
    function getRound(uint256 roundId) external view returns (Round memory) {
        return _rounds[roundId];
    }

    /// @notice A chunk challenge.
    /// @param roundId the round
    /// @param chunkIndex the chunk
    /// @return the challenge (status None if never challenged)
    function getChallenge(uint256 roundId, uint256 chunkIndex) external view returns (Challenge memory) {
        return _challenges[roundId][chunkIndex];
    }

    /// @notice Number of tasks and rounds created so far.
    /// @return tasks tasks created
    /// @return rounds rounds opened
    function counts() external view returns (uint256 tasks, uint256 rounds) {
        return (_taskCount, _roundCount);
    }
}
