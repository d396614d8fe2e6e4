// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IAggregationVerifier} from "../interfaces/IAggregationVerifier.sol";
import {IStakeRegistry} from "../interfaces/IStakeRegistry.sol";
import {ITrainingRounds} from "../interfaces/ITrainingRounds.sol";

/// @title RoundsBase
/// @notice What every concern of the round contract shares: hard limits, the token and registry, tasks,
/// rounds and challenges in storage, and the small checks and hooks the concerns call each other through.
/// @dev The concerns (RoundParams, RoundRewards, RoundCandidates, RoundChallenges, RoundFaults) each extend
/// this contract; TrainingRounds composes them. `_close` and `_credit` are implemented by RoundRewards.
abstract contract RoundsBase is ITrainingRounds, Ownable2Step, Pausable, ReentrancyGuardTransient {
    /// @notice Basis-point denominator.
    uint256 public constant BPS = 10_000;
    /// @notice Hard cap on trainers per round: the zk circuit's fan-in. Bounds every loop over trainers.
    uint256 public constant MAX_TRAINERS_PER_ROUND = 16;
    /// @notice Hard cap on opted-in aggregator candidates: bounds the selection loop.
    uint256 public constant MAX_AGGREGATOR_CANDIDATES = 64;
    /// @notice Hard cap on a round's total duration (commit + aggregate + challenge + answer + dispute windows); kept
    /// below StakeRegistry.MIN_UNBONDING_DELAY so stake cannot leave before its round is judged.
    uint256 public constant MAX_ROUND_DURATION = 12 hours;
    /// @notice Shortest allowed phase window.
    uint256 public constant MIN_WINDOW = 30 seconds;
    /// @notice Most chunks sampled for proof automatically when an aggregate is posted.
    uint256 public constant MAX_SAMPLED_CHUNKS = 8;

    /// @notice Slash reason codes (also in IStakeRegistry).
    uint8 public constant REASON_WRONG_AGGREGATE = 1;
    uint8 public constant REASON_MISSED_DEADLINE = 2;
    uint8 public constant REASON_AGGREGATOR_EQUIVOCATION = 3;
    uint8 public constant REASON_TRAINER_EQUIVOCATION = 4;

    /// @notice The staking/reward token.
    IERC20 public immutable token;
    /// @notice The stake registry that this contract slashes through.
    IStakeRegistry public immutable registry;

    Params internal _params;
    IAggregationVerifier internal _verifier;
    uint256 internal _taskCount;
    uint256 internal _roundCount;
    uint256 internal _totalFunded;
    uint256 internal _totalBonds;

    mapping(uint256 taskId => Task) internal _tasks;
    mapping(uint256 roundId => Round) internal _rounds;
    mapping(uint256 roundId => mapping(address trainer => uint256 indexPlusOne)) internal _trainerIndex;
    mapping(uint256 roundId => mapping(uint256 chunk => Challenge)) internal _challenges;

    /// @param token_ the reward token (same as the staked token)
    /// @param registry_ the stake registry; the composing contract must be set as its slasher
    constructor(IERC20 token_, IStakeRegistry registry_) {
        if (address(token_) == address(0) || address(registry_) == address(0)) revert ZeroAddress();
        token = token_;
        registry = registry_;
    }

    /// @dev Closes a round in `state` (Finalized or Failed) and credits its emission (RoundRewards).
    function _close(uint256 roundId, Round storage round, RoundState state) internal virtual;

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

    /// @dev Slashes `bps` of the operator's slashable stake through the registry.
    function _slashShare(address operator, uint256 bps, uint8 reason, bytes32 evidence, address reporter) internal {
        uint256 amount = (registry.slashableStake(operator) * bps) / BPS;
        registry.slash(operator, amount, reason, evidence, reporter);
    }
}
