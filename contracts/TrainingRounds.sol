// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IAggregationVerifier} from "./interfaces/IAggregationVerifier.sol";
import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";
import {RoundChallenges} from "./rounds/RoundChallenges.sol";
import {RoundFaults} from "./rounds/RoundFaults.sol";
import {RoundParams} from "./rounds/RoundParams.sol";
import {RoundRewards} from "./rounds/RoundRewards.sol";
import {RoundsBase} from "./rounds/RoundsBase.sol";
import {RoundsExtension} from "./rounds/RoundsExtension.sol";
import {RoundTasks} from "./rounds/RoundTasks.sol";

/// @title TrainingRounds
/// @notice The on-chain life of a federated training round: tasks and their reward pools, rounds opened
/// permissionlessly on schedule, trainer commitments, stake-weighted aggregator selection, the aggregate,
/// sampled and bonded chunk challenges answered with zk proofs, slashing of provable faults, and exact,
/// pull-based rewards. See docs/protocol.md §3 for the lifecycle.
/// @dev This contract holds the round's main line (open, commit, post, finalize) and composes the
/// concerns: RoundTasks (tasks, funding, closing), RoundParams (owner), RoundRewards (close, credit, claim),
/// RoundChallenges (the challenge game) and RoundFaults (missed deadlines, equivocation). Aggregator
/// candidates and the selection (IRoundSelection) run in RoundsExtension, delegatecalled from the fallback
/// on this contract's storage: with them this contract would exceed the 24 KiB code limit. So do
/// `createTask` and `challenge`, whose entry points stay here (ITrainingRounds) and delegatecall too.
contract TrainingRounds is RoundTasks, RoundParams, RoundRewards, RoundChallenges, RoundFaults {
    /// @notice The code this contract's fallback runs by delegatecall (IRoundSelection), created here.
    address public immutable extension;

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
        _initParams(params_, verifier_);
        extension = address(new RoundsExtension(token_, registry_));
    }

    /// @notice Serves IRoundSelection (candidates, lockSelection, selectAggregator) from RoundsExtension on
    /// this contract's storage, with the caller as `msg.sender`.
    fallback() external {
        _delegateToExtension();
    }

    /// @notice Registers a training task (ITrainingRounds.createTask); runs in RoundsExtension
    /// (CreateTaskExtension) on this contract's storage, to keep this contract under the code limit.
    /// @return the new task's ID (returned by the extension)
    function createTask(TaskConfig calldata) external returns (uint256) {
        _delegateToExtension();
    }

    /// @notice Opens a bonded chunk challenge (ITrainingRounds.challenge); runs in RoundsExtension
    /// (ChallengeExtension) on this contract's storage, to keep this contract under the code limit.
    function challenge(uint256, uint256) external {
        _delegateToExtension();
    }

    /// @dev Runs the call's own calldata in RoundsExtension by delegatecall and returns or reverts with its
    /// result; never returns to the caller's code.
    function _delegateToExtension() private {
        address target = extension;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) {
                revert(0, returndatasize())
            }
            return(0, returndatasize())
        }
    }

    // ================================================================ round lifecycle

    /// @notice Opens the task's next round when it is due. Anyone may call.
    /// @dev Reserves `min(rewardPerRound, rewardPool)` as the round's emission and fixes what the round is
    /// judged by: the parameters and verifier in force now, the task's rule (proven or not) and answer window.
    /// @param taskId the task
    /// @return roundId the new round's ID
    function openRound(uint256 taskId) external whenNotPaused returns (uint256 roundId) {
        Task storage task = _task(taskId);
        if (task.closed) revert ClosedTask(taskId);
        if (task.activeRound != 0) revert RoundStillActive(task.activeRound);
        if (block.timestamp < task.nextOpenTime) revert RoundNotDue(task.nextOpenTime);
        if (task.rewardPool == 0) revert EmptyRewardPool(taskId);
        uint256 emission = task.rewardPerRound < task.rewardPool ? task.rewardPerRound : task.rewardPool;
        task.rewardPool -= emission;
        roundId = ++_roundCount;
        task.activeRound = roundId;
        task.roundCount += 1;
        task.nextOpenTime = uint64(block.timestamp + task.roundInterval); // interval <= MAX_ROUND_INTERVAL
        Round storage round = _rounds[roundId];
        round.taskId = taskId;
        round.state = RoundState.Open;
        round.emission = emission;
        // A group task trains from the model of its hierarchy's root: its round's aggregate is a partial of its
        // parent's, and every level of one global round shares that base (`commitPartial` checks it). Not the
        // parent's own modelRef: a middle level's finalized round moves it to a model no level trains.
        RoundDraws storage draws = _draws[roundId];
        uint256 root = _parentTask[taskId];
        if (root != 0) {
            for (uint256 up = _parentTask[root]; up != 0; up = _parentTask[up]) root = up; // < MAX_TASK_LEVELS
            task.modelRef = _tasks[root].modelRef;
            // Its trainers are those the epoch's seed draws (`drawGroupSeed`, RoundsExtension;
            // nobody's update is taken before it is fixed): see `_requireGroupMember`.
            draws.groupEpoch = uint64(block.timestamp / GROUP_EPOCH + 1);
        }
        round.baseModelRef = task.modelRef;
        round.partialsOnly = task.partialsOnly;
        round.verifier = _currentVerifier();
        round.paramsVersion = _currentParamsVersion();
        round.proven = task.proven;
        round.answerWindow = task.answerWindow;
        round.disputeWindow = task.disputeWindow;
        round.numChunks = task.numChunks;
        round.commitDeadline = uint64(block.timestamp + task.commitWindow);
        round.aggregateDeadline = round.commitDeadline + task.aggregateWindow;
        round.challengeDeadline = round.aggregateDeadline + task.challengeWindow;
        draws.selectionDeadline = round.aggregateDeadline; // commit deadline + aggregateWindow
        draws.openBlock = uint64(block.number);
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
    /// one commitment per trainer; at most `maxTrainersPerRound` trainers, and in a proven task's round at
    /// most MAX_PROVEN_TRAINERS (the flat verifier's fan-in) unless its verifier has a link verifier (chained
    /// proofs); a full round admits the caller only in place of the least-staked trainer, if the caller has
    /// more (`takeSlot`).
    /// @param roundId the open round
    /// @param commitment the update's commitment
    /// @param sampleCount the trainer's sample count, 1..maxSamplesPerTrainer
    function commitUpdate(uint256 roundId, bytes32 commitment, uint256 sampleCount) external whenNotPaused {
        Round storage round = _rounds[roundId];
        if (round.partialsOnly) revert PartialsOnly(roundId);
        if (_parentTask[round.taskId] != 0) _requireGroupMember(round.taskId, _draws[roundId].groupEpoch);
        _commit(roundId, round, commitment, sampleCount);
    }

    /// @dev A group task's round takes updates only from the operators its group epoch's seed draws into it at
    /// every level up to the root (docs §7: `keccak(seed, parent, operator) mod groups` is the child's link
    /// index), and only from operators with the minimum stake before the seed was drawn (SEED_BLOCK_DELAY
    /// blocks before, as the selection's draws): an address ground, or a stake placed, after the seed is known
    /// waits for the next epoch's draw.
    function _requireGroupMember(uint256 taskId, uint256 epoch) private view {
        bytes32 seed = _groupSeed[epoch];
        if (seed == 0) revert NotGroupMember(msg.sender, taskId); // no seed fixed yet, or a round opened unlinked
        if (registry.activeStakeAt(msg.sender, _groupSeedBlock[epoch] - SEED_BLOCK_DELAY) < registry.minStake()) {
            revert StakeNewerThanGroupSeed(msg.sender, epoch);
        }
        for (uint256 child = taskId; _parentTask[child] != 0; child = _parentTask[child]) {
            uint256 parent = _parentTask[child];
            uint256 drawn = uint256(keccak256(abi.encode(seed, parent, msg.sender))) % _groupCount[parent];
            if (drawn != _groupIndex[child]) revert NotGroupMember(msg.sender, taskId);
        }
    }

    /// @notice Commits a group round's partial into its parent task's open round (docs §7): the group round's
    /// aggregator commits that round's aggregate commitment as its own update, with the sum of the round's
    /// posted weights, shifted right until it fits `maxSamplesPerTrainer`, as its sample count. The group round
    /// was proven and finalized (its challenges answered, or its aggregator slashed and the round failed, and
    /// then there is nothing to commit), so the parent's aggregate over the partials, proven by the parent's
    /// own challenges, is proven at every level.
    /// @dev Requirements: as `commitUpdate`, and: the round's task is a parent task; the group round is
    /// Finalized, of a child task of the round's task, opened on the round's base model, not committed before;
    /// the caller is its aggregator.
    /// @param roundId the parent task's open round
    /// @param groupRoundId the child task's finalized round
    function commitPartial(uint256 roundId, uint256 groupRoundId) external whenNotPaused {
        Round storage round = _rounds[roundId];
        if (!round.partialsOnly) revert NotPartialsRound(roundId);
        Round storage group = _rounds[groupRoundId];
        _requireState(groupRoundId, group, RoundState.Finalized);
        if (msg.sender != group.aggregator) revert NotAggregator(msg.sender);
        if (
            _parentTask[group.taskId] != round.taskId ||
            group.baseModelRef != round.baseModelRef ||
            _draws[groupRoundId].groupEpoch == 0 // opened before its task was linked: its trainers were not drawn
        ) {
            revert NotGroupOf(groupRoundId, roundId);
        }
        if (_partialTaken[groupRoundId]) revert PartialTaken(groupRoundId);
        _partialTaken[groupRoundId] = true;
        uint256 weight;
        uint256 n = group.weights.length; // a proven round posts its weights array (<= MAX_WEIGHTS_ARRAY)
        for (uint256 i; i < n; ++i) weight += group.weights[i];
        uint256 maxSamples = _paramsOf(round).maxSamplesPerTrainer;
        uint8 shift;
        while (weight >> shift > maxSamples) ++shift;
        emit PartialCommitted(roundId, groupRoundId, msg.sender, weight, shift);
        _commit(roundId, round, group.aggregateCommitment, weight >> shift);
        if (!_groupIn[roundId][group.taskId]) {
            _groupIn[roundId][group.taskId] = true;
            if (++_groupsIn[roundId] == _groupCount[round.taskId]) _closeCommitsEarly(roundId, round);
        }
    }

    /// @dev A parent round holding a partial from every group of its task has nothing left to wait for: its
    /// commit phase ends now and the deadlines after it move up, as if its commit window had ended now. (The
    /// window is sized for the slowest possible group round, 16 challenges long: ~35 min at the local defaults.)
    /// A group whose round is still in its challenges is not in yet, so it never closes on a group.
    function _closeCommitsEarly(uint256 roundId, Round storage round) private {
        uint64 nowS = uint64(block.timestamp);
        if (nowS >= round.commitDeadline) return;
        Task storage task = _tasks[round.taskId];
        round.commitDeadline = nowS;
        round.aggregateDeadline = nowS + task.aggregateWindow;
        round.challengeDeadline = round.aggregateDeadline + task.challengeWindow;
        _draws[roundId].selectionDeadline = round.aggregateDeadline;
        emit CommitPhaseClosed(roundId, nowS);
    }

    /// @dev Appends the caller's commitment to an open round (`commitUpdate`, `commitPartial`).
    function _commit(uint256 roundId, Round storage round, bytes32 commitment, uint256 sampleCount) private {
        _requireState(roundId, round, RoundState.Open);
        if (block.timestamp > round.commitDeadline) revert DeadlinePassed(round.commitDeadline);
        if (!registry.isActiveOperator(msg.sender)) revert NotActiveOperator(msg.sender);
        if (_trainerIndex[roundId][msg.sender] != 0) revert AlreadyCommitted(msg.sender);
        Params storage p = _paramsOf(round);
        uint256 maxTrainers = p.maxTrainersPerRound;
        uint256 n = round.trainers.length;
        if (round.proven && n >= MAX_PROVEN_TRAINERS && maxTrainers > MAX_PROVEN_TRAINERS) {
            // Without chained proofs a larger proven round could not be proven: it stays at the flat fan-in.
            if (address(round.verifier.linkVerifier()) == address(0)) maxTrainers = MAX_PROVEN_TRAINERS;
            // Proofs read the posted weights array, which only rounds up to MAX_WEIGHTS_ARRAY post.
            else if (maxTrainers > MAX_WEIGHTS_ARRAY) maxTrainers = MAX_WEIGHTS_ARRAY;
        }
        if (sampleCount == 0 || sampleCount > p.maxSamplesPerTrainer) {
            revert InvalidSampleCount(sampleCount, p.maxSamplesPerTrainer);
        }
        if (n >= maxTrainers) _takeSlot(roundId, maxTrainers);
        round.trainers.push(msg.sender);
        round.commitments.push(commitment);
        round.sampleCounts.push(uint64(sampleCount)); // <= maxSamplesPerTrainer (checked above)
        _trainerIndex[roundId][msg.sender] = round.trainers.length;
        emit UpdateCommitted(roundId, msg.sender, commitment, sampleCount);
    }

    /// @dev A full round's slots go to stake (RoundsExtension.takeSlot, run here by delegatecall): the caller
    /// takes the least-staked trainer's slot if it had more stake, else `RoundFull`. The transient flag lets the
    /// extension accept the call from here only, never through the fallback.
    function _takeSlot(uint256 roundId, uint256 maxTrainers) private {
        bytes memory data = abi.encodeCall(RoundsExtension.takeSlot, (roundId, maxTrainers));
        address target = extension;
        bytes32 guard = SLOT_GUARD;
        assembly {
            tstore(guard, 1)
            let ok := delegatecall(gas(), target, add(data, 32), mload(data), 0, 0)
            tstore(guard, 0)
            if iszero(ok) {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
        }
    }

    /// @notice The aggregator posts the aggregate's commitment, where its bytes can be fetched and the accepted
    /// sample weight of each trainer (0 = not received, or rejected by robust aggregation: earns nothing; a
    /// weight > 0 is the aggregator's statement that it received and used the update). Whether the round is
    /// proven is the task's rule, not the aggregator's choice: a proven task's round gets `sampledChunks` chunks
    /// challenged at once from on-chain randomness and can be challenged further; an unproven task's cannot.
    /// All-zero weights (nothing delivered) close the round at once as Failed: nobody is paid or slashed and
    /// the emission returns to the pool. The new model is not the aggregator's to name: its ref is derived
    /// here from the base model and the aggregate (`_modelRefOf`), and nodes compute its weights from them.
    /// A proven round of more than MAX_PROVEN_TRAINERS trainers is proven by chained proofs and needs its
    /// link root posted first (`postLinkRoot`), else `LinkRootMissing`: it cannot post without being provable.
    /// @param roundId the round, Aggregating before its aggregate deadline; only its aggregator may call
    /// @param aggregateCommitment the aggregate's commitment (docs §4)
    /// @param aggregateData sha256 of the encoded aggregate's bytes: the blob name nodes fetch it by (docs §5);
    /// emitted only. A wrong one withholds data (the bytes are checked against the commitment), nothing more.
    /// A round of more than MAX_WEIGHTS_ARRAY trainers (never proven: see commitUpdate) posts no array: its
    /// aggregator first posts a weight sum tree root and total (`postWeightsRoot`, RoundClaimsExtension) and
    /// each trainer claims its share against it; without a root its total is 0 and the round fails unpaid.
    /// @param weights each trainer's accepted sample count, in commit order, <= its sample count (empty for a
    /// round above MAX_WEIGHTS_ARRAY trainers)
    function postAggregate(
        uint256 roundId,
        bytes32 aggregateCommitment,
        bytes32 aggregateData,
        uint256[] calldata weights
    ) external {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, RoundState.Aggregating);
        if (msg.sender != round.aggregator) revert NotAggregator(msg.sender);
        if (block.timestamp > round.aggregateDeadline) revert DeadlinePassed(round.aggregateDeadline);
        uint256 n = round.trainers.length;
        uint256 totalWeight;
        if (n > MAX_WEIGHTS_ARRAY) {
            if (weights.length != 0) revert InvalidWeights();
            totalWeight = _weightsTotal(roundId);
        } else {
            if (weights.length != n) revert InvalidWeights();
            if (round.proven && n > MAX_PROVEN_TRAINERS && round.linkRoot == bytes32(0)) {
                revert LinkRootMissing(roundId);
            }
            for (uint256 i = 0; i < n; ++i) {
                if (weights[i] > round.sampleCounts[i]) revert InvalidWeights();
                round.weights.push(uint64(weights[i])); // <= a uint64 sample count
                totalWeight += weights[i];
            }
        }
        round.aggregateCommitment = aggregateCommitment;
        // The challenge window runs from the post: an early post must not hold its round for the unused rest of
        // the aggregate window (40 s of a 60 s round in the quick soak). Watchers get the full window either way;
        // a late post already left them only that. Deadlines are always set as aggregate + challenge window.
        round.challengeDeadline = uint64(block.timestamp) + (round.challengeDeadline - round.aggregateDeadline);
        bytes32 modelRef = _modelRefOf(round.baseModelRef, aggregateCommitment, roundId);
        round.modelRef = modelRef;
        round.posted = true;
        round.state = RoundState.Challenging;
        emit AggregatePosted(roundId, msg.sender, aggregateCommitment, modelRef, aggregateData, round.proven);
        if (totalWeight == 0) {
            _close(roundId, round, RoundState.Failed);
            return;
        }
        if (round.proven) _scheduleSamples(roundId);
    }

    /// @notice Finalizes a round after its challenge window and its dispute deadline with every challenge
    /// answered: credits rewards and advances the task's model. Anyone may call. A contested round (one that
    /// took MAX_CHALLENGES_PER_ROUND challenges, all answered) fails instead, unslashed: with its challenge slots
    /// full, a wrong chunk might have gone unchallenged, so its model must not be accepted; its trainers and
    /// aggregator are paid as if it finalized (the fillers' bonds paid for the griefing).
    /// @param roundId the round, Challenging past its challenge and dispute deadlines
    function finalizeRound(uint256 roundId) external nonReentrant {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, RoundState.Challenging);
        if (block.timestamp <= round.challengeDeadline) revert DeadlineNotReached(round.challengeDeadline);
        if (block.timestamp <= round.disputeDeadline) revert DeadlineNotReached(round.disputeDeadline);
        if (round.pendingChallenges != 0) revert PendingChallenges(round.pendingChallenges);
        RoundDraws storage draws = _draws[roundId];
        if (draws.sampleSeedBlock != 0 && !draws.samplesDrawn) revert SamplesNotDrawn(roundId);
        if (round.challengeCount >= MAX_CHALLENGES_PER_ROUND) {
            _closeContested(roundId, round);
            return;
        }
        _tasks[round.taskId].modelRef = round.modelRef;
        _close(roundId, round, RoundState.Finalized);
    }
}
