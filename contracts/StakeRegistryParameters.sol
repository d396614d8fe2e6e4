// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title StakeRegistryParameters
/// @notice The stake registry's owner-set parameters (minimum stake, unbonding delay, reporter share), each
/// bounded and changed only through a queue: a change takes effect `parameterChangeDelay()` after it is queued,
/// which is the longest unbonding delay that can apply to a request made now plus `PARAMETER_CHANGE_NOTICE`.
/// So an operator who disagrees and requests unstaking within the notice has withdrawn everything before the
/// change applies: no change can reach stake that was on its way out when the change was announced.
/// @dev A queued change applies lazily (the getters compare with the block time), so nobody has to send a
/// transaction for it to take effect and no window exists where the old value lingers.
abstract contract StakeRegistryParameters is Ownable2Step {
    /// @notice The parameters the owner may change.
    enum Parameter {
        MinStake,
        UnbondingDelay,
        ReporterRewardBps
    }

    /// @notice Lower bound on the unbonding delay. The rounds contract caps a round (all its windows) at 12 hours,
    /// so a day guarantees every round can be judged before the stake behind it leaves.
    uint256 public constant MIN_UNBONDING_DELAY = 1 days;
    /// @notice Upper bound on the unbonding delay, so the owner cannot lock stake indefinitely.
    uint256 public constant MAX_UNBONDING_DELAY = 60 days;
    /// @notice Upper bound on the reporter's share of a slash: 10%. A slashed operator that reports itself
    /// through a sybil still loses at least 90% of the slash.
    uint256 public constant MAX_REPORTER_REWARD_BPS = 1_000;
    /// @notice Time operators have to notice a queued change and request unstaking before it applies.
    uint256 public constant PARAMETER_CHANGE_NOTICE = 3 days;

    struct Slot {
        uint128 current;
        uint128 pending;
        uint64 effectiveAt; // 0 = nothing pending
    }

    mapping(Parameter parameter => Slot) private _slots;

    /// @notice The owner queued `parameter` to become `value` at `effectiveAt` (unix seconds).
    event ParameterChangeQueued(Parameter indexed parameter, uint256 value, uint64 effectiveAt);
    /// @notice The owner cancelled the queued change of `parameter` to `value` before it applied.
    event ParameterChangeCancelled(Parameter indexed parameter, uint256 value);

    /// @notice `value` is outside the hard bounds of `parameter`.
    error ParameterOutOfBounds(Parameter parameter, uint256 value);
    /// @notice `parameter` has no change waiting to apply.
    error NoPendingParameterChange(Parameter parameter);

    /// @param minStake_ initial minimum active stake of an active operator (> 0)
    /// @param unbondingDelay_ initial unbonding delay in seconds, within [MIN_UNBONDING_DELAY, MAX_UNBONDING_DELAY]
    /// @param reporterRewardBps_ initial reporter share of a slash, at most MAX_REPORTER_REWARD_BPS
    constructor(uint256 minStake_, uint256 unbondingDelay_, uint256 reporterRewardBps_) {
        _initialise(Parameter.MinStake, minStake_);
        _initialise(Parameter.UnbondingDelay, unbondingDelay_);
        _initialise(Parameter.ReporterRewardBps, reporterRewardBps_);
    }

    /// @notice Queues a change of `parameter` to `value`, replacing any change of it still waiting. Only the owner.
    /// @dev Requirements: `value` within the parameter's bounds.
    /// @param parameter which parameter
    /// @param value the new value
    /// @return effectiveAt when the change applies (unix seconds)
    function queueParameterChange(Parameter parameter, uint256 value) external onlyOwner returns (uint64 effectiveAt) {
        _checkBounds(parameter, value);
        uint256 delay = parameterChangeDelay();
        Slot storage slot = _settle(parameter);
        if (slot.effectiveAt != 0) emit ParameterChangeCancelled(parameter, slot.pending);
        effectiveAt = SafeCast.toUint64(block.timestamp + delay);
        slot.pending = uint128(value);
        slot.effectiveAt = effectiveAt;
        emit ParameterChangeQueued(parameter, value, effectiveAt);
    }

    /// @notice Cancels the change of `parameter` waiting to apply. Only the owner.
    /// @param parameter which parameter
    function cancelParameterChange(Parameter parameter) external onlyOwner {
        Slot storage slot = _settle(parameter);
        if (slot.effectiveAt == 0) revert NoPendingParameterChange(parameter);
        uint256 value = slot.pending;
        slot.pending = 0;
        slot.effectiveAt = 0;
        emit ParameterChangeCancelled(parameter, value);
    }

    /// @notice The change of `parameter` waiting to apply, if any.
    /// @param parameter which parameter
    /// @return value the queued value (0 when nothing is pending)
    /// @return effectiveAt when it applies (0 when nothing is pending)
    function pendingParameterChange(Parameter parameter) external view returns (uint256 value, uint64 effectiveAt) {
        Slot storage slot = _slots[parameter];
        if (slot.effectiveAt == 0 || block.timestamp >= slot.effectiveAt) return (0, 0);
        return (slot.pending, slot.effectiveAt);
    }

    /// @notice How long a change queued now waits: the longest unbonding delay a request made now could get
    /// (the one in force, or a queued one) plus the notice.
    /// @return seconds from queueing to effect
    function parameterChangeDelay() public view returns (uint256) {
        uint256 longest = parameterValue(Parameter.UnbondingDelay);
        Slot storage slot = _slots[Parameter.UnbondingDelay];
        if (slot.effectiveAt != 0 && block.timestamp < slot.effectiveAt && slot.pending > longest) {
            longest = slot.pending;
        }
        return longest + PARAMETER_CHANGE_NOTICE;
    }

    /// @notice The value of `parameter` in force now.
    /// @param parameter which parameter
    /// @return the value
    function parameterValue(Parameter parameter) public view returns (uint256) {
        Slot storage slot = _slots[parameter];
        return slot.effectiveAt != 0 && block.timestamp >= slot.effectiveAt ? slot.pending : slot.current;
    }

    /// @notice Minimum active stake of an active operator.
    function minStake() public view virtual returns (uint256) {
        return parameterValue(Parameter.MinStake);
    }

    /// @notice Seconds between `requestUnstake` and the release of that request's stake.
    function unbondingDelay() public view virtual returns (uint256) {
        return parameterValue(Parameter.UnbondingDelay);
    }

    /// @notice Reporter's share of a slash, in basis points.
    function reporterRewardBps() public view returns (uint256) {
        return parameterValue(Parameter.ReporterRewardBps);
    }

    /// @dev Folds a change whose time has come into `current`, so the slot holds at most one future change.
    function _settle(Parameter parameter) private returns (Slot storage slot) {
        slot = _slots[parameter];
        if (slot.effectiveAt != 0 && block.timestamp >= slot.effectiveAt) {
            slot.current = slot.pending;
            slot.pending = 0;
            slot.effectiveAt = 0;
        }
    }

    function _initialise(Parameter parameter, uint256 value) private {
        _checkBounds(parameter, value);
        _slots[parameter].current = uint128(value);
    }

    function _checkBounds(Parameter parameter, uint256 value) private pure {
        bool ok;
        if (parameter == Parameter.MinStake) ok = value != 0 && value <= type(uint128).max;
        else if (parameter == Parameter.UnbondingDelay) ok = value >= MIN_UNBONDING_DELAY && value <= MAX_UNBONDING_DELAY;
        else ok = value <= MAX_REPORTER_REWARD_BPS;
        if (!ok) revert ParameterOutOfBounds(parameter, value);
    }
}
