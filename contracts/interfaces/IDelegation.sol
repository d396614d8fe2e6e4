// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IDelegation
/// @notice Delegation in the stake registry: token holders back an operator, share its rewards (after its
/// commission) and its slashes (pro rata, unbonding included). See docs/incentives.md.
interface IDelegation {
    /// @notice An operator's delegation pool. Amounts are tokens, shares are pool shares (ERC-4626 style, with
    /// a virtual offset so a wiped pool can refill). Unbonding delegations sit in their own share pool so a
    /// slash reaches them pro rata without walking delegators.
    struct Pool {
        uint256 activeAmount;
        uint256 activeShares;
        uint256 unbondingAmount;
        uint256 unbondingShares;
        /// rewards per active share, scaled by REWARD_PRECISION
        uint256 accRewardPerShare;
        /// scaled reward units not yet spread over shares (floor-division dust, carried to the next credit)
        uint256 rewardRemainder;
        uint16 commissionBps;
        uint16 pendingCommissionBps;
        /// when the pending (higher) commission applies; 0 = none pending
        uint64 commissionEffectiveAt;
        /// when the operator retired; 0 = not retired
        uint64 retiredAt;
        uint32 delegators;
    }

    /// @notice One delegator's position with one operator.
    struct Position {
        uint256 shares;
        uint256 unbondingShares;
        /// shares * accRewardPerShare / REWARD_PRECISION at the last settlement
        uint256 rewardDebt;
        /// rewards settled and not yet claimed
        uint256 rewards;
        /// release time of the (single, merged) unbonding request; 0 = none
        uint64 releaseTime;
    }

    /// @notice `delegator` delegated `amount` to `operator` for `shares` pool shares.
    event Delegated(address indexed operator, address indexed delegator, uint256 amount, uint256 shares);
    /// @notice `delegator` asked to take `amount` from `operator`'s pool; withdrawable at `releaseTime`.
    event UndelegationRequested(
        address indexed operator,
        address indexed delegator,
        uint256 amount,
        uint64 releaseTime
    );
    /// @notice `delegator` withdrew `amount` of unbonded delegation from `operator`'s pool.
    event DelegationWithdrawn(address indexed operator, address indexed delegator, uint256 amount);
    /// @notice `delegator` moved `amount` from retired `from` to `to` without unbonding.
    event Redelegated(address indexed from, address indexed to, address indexed delegator, uint256 amount);
    /// @notice `delegator` claimed `amount` of rewards earned through `operator`.
    event DelegationRewardsClaimed(address indexed operator, address indexed delegator, uint256 amount);
    /// @notice A reward of `amount` earned by `operator`'s node was split: `commission` to the operator,
    /// `toDelegators` to its pool, the rest (self-stake share and rounding dust) to the operator.
    event RewardsSplit(address indexed operator, uint256 amount, uint256 commission, uint256 toDelegators);
    /// @notice A slash of `operator` took `fromActive` from its delegated pool and `fromUnbonding` from the
    /// delegations unbonding from it.
    event DelegationSlashed(address indexed operator, uint256 fromActive, uint256 fromUnbonding);
    /// @notice `operator`'s commission is now `bps`.
    event CommissionChanged(address indexed operator, uint256 bps);
    /// @notice `operator` queued a commission raise to `bps`, applying at `effectiveAt`.
    event CommissionChangeQueued(address indexed operator, uint256 bps, uint64 effectiveAt);
    /// @notice `operator` retired (stake counts zero, delegators may redelegate after the quiet period) or
    /// came back.
    event OperatorRetired(address indexed operator, bool retired);

    /// @notice The operator cannot take this delegation: its delegated stake would exceed
    /// MAX_DELEGATION_RATIO times its self-stake (`available` more fits).
    error DelegationCapExceeded(uint256 requested, uint256 available);
    /// @notice The operator's commission (now or pending) is above what the delegator accepted.
    error CommissionAboveLimit(uint256 commissionBps, uint256 maxCommissionBps);
    /// @notice A commission above MAX_COMMISSION_BPS.
    error CommissionOutOfBounds(uint256 bps);
    /// @notice The operator retired and takes no delegation.
    error OperatorRetiredError(address operator);
    /// @notice An operator cannot delegate to itself (its own stake is self-stake).
    error SelfDelegation();
    /// @notice The delegator has no active delegation with this operator to undelegate.
    error NoDelegation();
    /// @notice Nothing of this delegation is released yet (`releaseTime`, 0 when nothing is unbonding).
    error DelegationNotReleased(uint64 releaseTime);
    /// @notice No rewards to claim from this operator's pool.
    error NoDelegationRewards();
    /// @notice Redelegation from `operator` is allowed only `availableAt` (it must have been retired for
    /// REDELEGATION_QUIET_PERIOD, so no round it could be slashed in is open).
    error RedelegationLocked(address operator, uint64 availableAt);
    /// @notice The operator is not retired.
    error NotRetired(address operator);
    /// @notice An amount of zero was given, or rounded to zero.
    error ZeroDelegation();
    /// @notice The operator is already retired.
    error AlreadyRetired(address operator);
}
