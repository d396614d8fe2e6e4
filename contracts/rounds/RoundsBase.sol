// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IStakeRegistry} from "../interfaces/IStakeRegistry.sol";
import {ITrainingRounds} from "../interfaces/ITrainingRounds.sol";
import {RoundsStorage} from "./RoundsStorage.sol";

/// @title RoundsBase
/// @notice What every concern of the round contract shares: hard limits, the token and registry, tasks,
/// rounds and challenges in storage, and the small checks and hooks the concerns call each other through.
/// @dev The concerns (RoundTasks, RoundParams, RoundRewards, RoundChallenges, RoundFaults) each extend
/// this contract; TrainingRounds composes them. The state is in RoundsStorage, shared with RoundsExtension. `_close` and `_credit` are implemented by RoundRewards.
abstract contract RoundsBase is ITrainingRounds, RoundsStorage {
    /// @notice Basis-point denominator.
    uint256 public constant BPS = 10_000;
    /// @notice Hard cap on trainers per round (issue #21: rounds as large as the mesh's 1,000 nodes). Only
    /// the stakeless bootstrap draw loops up to it (a full round's eviction reads at most 16 drawn slots,
    /// RoundsExtension.takeSlot);
    /// weights and rewards of a round above MAX_WEIGHTS_ARRAY go through a weight tree and never loop.
    uint256 public constant MAX_TRAINERS_PER_ROUND = 1024;
    /// @notice Most trainers whose weights are posted as an array (`postAggregate`) and paid in a loop at the
    /// close; a larger round posts a weight sum tree root (`postAggregateRoot`) and each trainer claims
    /// (RoundClaimsExtension). Proven rounds stay within it: their proofs read the posted weights array.
    uint256 public constant MAX_WEIGHTS_ARRAY = 16;
    /// @notice How long a large round's trainers may claim after it closes; then `sweepClaims` returns the
    /// rest to the task's pool. A week: a node down for days still collects, and a pool is not locked long.
    uint256 public constant CLAIM_WINDOW = 7 days;
    /// @notice Hard cap on opted-in aggregator candidates: bounds the selection loop.
    uint256 public constant MAX_AGGREGATOR_CANDIDATES = 64;
    /// @notice Most chunks sampled for proof automatically when an aggregate is posted.
    uint256 public constant MAX_SAMPLED_CHUNKS = 8;
    /// @notice Largest accepted weight (and sample count cap): the circuit packs weights in 16 bits.
    uint256 public constant MAX_WEIGHT = 65_535;
    /// @notice Most a failed round pays its trainers, as a share of the stake slashed from its aggregator.
    /// With the registry's reporter share capped at 10% (StakeRegistry.MAX_REPORTER_REWARD_BPS), an
    /// aggregator that fails its own round (with sybil trainers and a sybil reporter) gets back at most 60%
    /// of what it loses: FAILED_ROUND_PAYOUT_BPS + reporter share < BPS.
    uint256 public constant FAILED_ROUND_PAYOUT_BPS = 5_000;

    /// @notice Slash reason codes (also in IStakeRegistry).
    uint8 public constant REASON_WRONG_AGGREGATE = 1;
    uint8 public constant REASON_MISSED_DEADLINE = 2;
    uint8 public constant REASON_AGGREGATOR_EQUIVOCATION = 3;
    uint8 public constant REASON_TRAINER_EQUIVOCATION = 4;

    /// @param token_ the reward token (same as the staked token)
    /// @param registry_ the stake registry; the composing contract must be set as its slasher
    constructor(IERC20 token_, IStakeRegistry registry_) RoundsStorage(token_, registry_) {}

    /// @dev Closes a round in `state` (Finalized or Failed) and credits its emission (RoundRewards). A round
    /// failed this way pays its trainers nothing (nothing delivered, or nobody slashed to pay them from).
    function _close(uint256 roundId, Round storage round, RoundState state) internal virtual;

    /// @dev Fails a round whose aggregator was just slashed `slashed` after posting: trainers are paid by
    /// posted weight, at most FAILED_ROUND_PAYOUT_BPS of `slashed` in all (RoundRewards).
    function _closeFailedAfterSlash(uint256 roundId, Round storage round, uint256 slashed) internal virtual;

    /// @dev The parameters round `round` opened with.
    function _paramsOf(Round storage round) internal view returns (Params storage) {
        return _paramsAt[round.paramsVersion];
    }

    /// @dev The reporter to pass to the registry: the caller only when it is revealing this report after
    /// committing to it in an earlier block (`revealReport`) and is not the offender; nobody otherwise. A report
    /// copied from the mempool and sent directly still slashes the offender but pays its sender nothing.
    function _reporter(address offender) internal view returns (address) {
        return msg.sender == offender || _revealedReporter() != msg.sender ? address(0) : msg.sender;
    }

    /// @dev Credits `amount` to `account`'s claimable balance, from a held bond if `fromBond` (RoundRewards).
    function _credit(uint256 roundId, address account, uint256 amount, bool fromBond) internal virtual;

    /// @dev The task `taskId`; reverts `UnknownTask` if it does not exist.
    function _task(uint256 taskId) internal view returns (Task storage task) {
        task = _tasks[taskId];
        if (task.creator == address(0)) revert UnknownTask(taskId);
    }

    /// @dev Reverts `WrongState` unless the round is in `state`.
    function _requireState(uint256 roundId, Round storage round, RoundState state) internal view {
        if (round.state != state) revert WrongState(roundId, round.state);
    }

    /// @dev Slashes `bps` of the operator's slashable stake through the registry; returns what was taken.
    function _slashShare(address operator, uint256 bps, uint8 reason, bytes32 evidence, address reporter)
        internal
        returns (uint256 slashed)
    {
        uint256 amount = (registry.slashableStake(operator) * bps) / BPS;
        slashed = registry.slash(operator, amount, reason, evidence, reporter);
    }

    /// @dev The model a posted aggregate makes: keccak256(abi.encode(baseModelRef, aggregateCommitment, roundId))
    /// with its low 64 bits replaced by `roundId`, so a ref alone names the round whose base and aggregate derive
    /// it (docs/protocol.md §3). Every node computes the weights as base + decode(aggregate) and stores them
    /// under this ref; a proven or watched aggregate thus fixes the model, whatever the aggregator claims.
    function _modelRefOf(bytes32 baseModelRef, bytes32 aggregateCommitment, uint256 roundId) internal pure returns (bytes32) {
        uint256 h = uint256(keccak256(abi.encode(baseModelRef, aggregateCommitment, roundId)));
        return bytes32(((h >> 64) << 64) | uint64(roundId)); // round IDs count up from 1: far below 2^64
    }
}
