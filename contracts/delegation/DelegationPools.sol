// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IDelegation} from "../interfaces/IDelegation.sol";
import {StakeRegistryParameters} from "../StakeRegistryParameters.sol";

/// @title DelegationPools
/// @notice Delegation, the stake registry's half for token holders who do not run a node. Each operator has
/// a pool: delegators buy shares of its active delegated stake, and an undelegation moves the value into a
/// second share pool (unbonding) for the registry's unbonding delay. Slashes and rewards change a pool's
/// amount or its reward-per-share accumulator, never a delegator's entry, so every action is O(1) however
/// many delegators an operator has.
/// @dev Rules (docs/incentives.md): (1) an operator's delegated stake is at most MAX_DELEGATION_RATIO times
/// its self-stake at delegation time, and only that much counts for it; (2) commission is at most
/// MAX_COMMISSION_BPS; a raise applies `parameterChangeDelay()` later (the longest unbonding delay plus the
/// registry's notice), so delegators can leave fully first; a cut applies at once; (3) a slash hits self,
/// delegated and unbonding delegated stake pro rata; (4) redelegation skips unbonding only away from an
/// operator retired for REDELEGATION_QUIET_PERIOD (longer than any round), which has no open round to be
/// slashed in.
abstract contract DelegationPools is IDelegation, StakeRegistryParameters, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Delegated stake is at most this many times the operator's self-stake: the operator always
    /// carries at least 1/(1+9) = 10% of a slash itself, and a pool cannot grow on a token self-stake.
    uint256 public constant MAX_DELEGATION_RATIO = 9;
    /// @notice Highest commission, in basis points (50%): above it the operator would earn more from the
    /// delegators' capital than they do, which no honest directory listing needs.
    uint256 public constant MAX_COMMISSION_BPS = 5_000;
    /// @notice How long an operator must have been retired before its delegators may redelegate without
    /// unbonding: 1 day, twice the rounds' 12-hour cap on a round with all its windows (TrainingRounds'
    /// MAX_ROUND_DURATION), so every round it could have joined is closed.
    uint256 public constant REDELEGATION_QUIET_PERIOD = 1 days;
    /// @notice Virtual shares of an empty pool (ERC-4626 decimals offset 6): a pool slashed to zero refills
    /// at a sane price, and its old shares keep (almost) nothing.
    uint256 public constant SHARE_OFFSET = 1e6;
    /// @notice Scale of the reward-per-share accumulator.
    uint256 public constant REWARD_PRECISION = 1e36;
    uint256 private constant _BPS = 10_000;

    mapping(address operator => Pool) private _pools;
    mapping(address operator => mapping(address delegator => Position)) private _positions;
    uint256 private _totalDelegated;
    uint256 private _totalDelegatedUnbonding;
    uint256 private _rewardsHeld;

    // ---------------------------------------------------------------- hooks (StakeRegistry)

    /// @dev The staked token.
    function _stakeToken() internal view virtual returns (IERC20);
    /// @dev Reverts unless staking is open (the slasher is fixed).
    function _requireStakingOpen() internal view virtual;
    /// @dev The operator's own active stake.
    function _selfActive(address operator) internal view virtual returns (uint256);
    /// @dev Called after anything that changes the stake counted for `operator` (rewrites its checkpoint).
    function _backingChanged(address operator) internal virtual;

    // ---------------------------------------------------------------- delegator actions

    /// @notice Delegates `amount` to `operator` (approve first, or use `delegateWithPermit`).
    /// @param maxCommissionBps highest commission (now or pending) the caller accepts: a raise queued just
    /// before this transaction makes it revert instead of binding the caller to it
    function delegate(address operator, uint256 amount, uint256 maxCommissionBps) external nonReentrant whenNotPaused {
        _delegate(operator, msg.sender, amount, maxCommissionBps);
        _stakeToken().safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Approves with an EIP-2612 permit and delegates in one transaction (a front-run permit whose
    /// allowance is in place is tolerated, as in `stakeWithPermit`).
    function delegateWithPermit(
        address operator,
        uint256 amount,
        uint256 maxCommissionBps,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant whenNotPaused {
        IERC20 t = _stakeToken();
        try IERC20Permit(address(t)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch (
            bytes memory reason
        ) {
            if (t.allowance(msg.sender, address(this)) < amount) {
                assembly ("memory-safe") {
                    revert(add(reason, 0x20), mload(reason))
                }
            }
        }
        _delegate(operator, msg.sender, amount, maxCommissionBps);
        t.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Starts undelegating about `amount` (all of it when `amount` is at least the position's value)
    /// from `operator`. The value stops earning and stays slashable until released, `unbondingDelay()` from
    /// now; a pending request is merged into this one and released with it. Allowed while paused.
    /// @return taken the tokens moved to unbonding
    function undelegate(address operator, uint256 amount) external nonReentrant returns (uint256 taken) {
        uint64 releaseTime = SafeCast.toUint64(block.timestamp + unbondingDelay());
        taken = _takeActive(operator, msg.sender, amount);
        if (taken == 0) revert ZeroDelegation();
        Pool storage pool = _pools[operator];
        Position storage pos = _positions[operator][msg.sender];
        uint256 shares = Math.mulDiv(taken, pool.unbondingShares + SHARE_OFFSET, pool.unbondingAmount + 1);
        pool.unbondingShares += shares;
        pool.unbondingAmount += taken;
        _totalDelegatedUnbonding += taken;
        pos.unbondingShares += shares;
        pos.releaseTime = releaseTime;
        _backingChanged(operator);
        emit UndelegationRequested(operator, msg.sender, taken, releaseTime);
    }

    /// @notice Withdraws the caller's released undelegation from `operator`. Never blocked by the pause.
    /// @return amount the tokens transferred
    function withdrawDelegation(address operator) external nonReentrant returns (uint256 amount) {
        Pool storage pool = _pools[operator];
        Position storage pos = _positions[operator][msg.sender];
        uint256 shares = pos.unbondingShares;
        if (shares == 0 || pos.releaseTime > block.timestamp) revert DelegationNotReleased(pos.releaseTime);
        amount = Math.min(
            Math.mulDiv(shares, pool.unbondingAmount + 1, pool.unbondingShares + SHARE_OFFSET),
            pool.unbondingAmount
        );
        pool.unbondingShares -= shares;
        pool.unbondingAmount -= amount;
        _totalDelegatedUnbonding -= amount;
        pos.unbondingShares = 0;
        pos.releaseTime = 0;
        if (_isEmpty(pos)) pool.delegators -= 1;
        emit DelegationWithdrawn(operator, msg.sender, amount);
        _stakeToken().safeTransfer(msg.sender, amount);
    }

    /// @notice Transfers the caller's rewards earned through `operator`. Never blocked by the pause.
    /// @return amount the tokens transferred
    function claimDelegationRewards(address operator) external nonReentrant returns (uint256 amount) {
        Pool storage pool = _pools[operator];
        Position storage pos = _positions[operator][msg.sender];
        _settle(pool, pos);
        amount = pos.rewards;
        if (amount == 0) revert NoDelegationRewards();
        pos.rewards = 0;
        _rewardsHeld -= amount;
        if (_isEmpty(pos)) pool.delegators -= 1;
        emit DelegationRewardsClaimed(operator, msg.sender, amount);
        _stakeToken().safeTransfer(msg.sender, amount);
    }

    /// @notice Moves about `amount` (all when at least the position's value) from `from` to `to` without
    /// unbonding. Only away from an operator retired for REDELEGATION_QUIET_PERIOD: an active operator may be
    /// in an open round, and stake leaving it must stay slashable for the unbonding delay.
    function redelegate(address from, address to, uint256 amount, uint256 maxCommissionBps)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 moved)
    {
        uint64 retiredAt = _pools[from].retiredAt;
        uint64 availableAt = retiredAt == 0 ? 0 : retiredAt + uint64(REDELEGATION_QUIET_PERIOD);
        if (retiredAt == 0 || block.timestamp < availableAt) revert RedelegationLocked(from, availableAt);
        moved = _takeActive(from, msg.sender, amount);
        if (moved == 0) revert ZeroDelegation();
        if (_isEmpty(_positions[from][msg.sender])) _pools[from].delegators -= 1;
        _backingChanged(from);
        _delegate(to, msg.sender, moved, maxCommissionBps);
        emit Redelegated(from, to, msg.sender, moved);
    }

    // ---------------------------------------------------------------- operator actions

    /// @notice Sets the caller's commission. A cut applies now (and drops a pending raise); a raise applies
    /// `parameterChangeDelay()` from now, longer than any unbonding a delegator could start now.
    function setCommission(uint256 bps) external {
        if (bps > MAX_COMMISSION_BPS) revert CommissionOutOfBounds(bps);
        Pool storage pool = _pools[msg.sender];
        _settleCommission(msg.sender, pool);
        if (bps <= pool.commissionBps) {
            pool.commissionBps = uint16(bps);
            pool.pendingCommissionBps = 0;
            pool.commissionEffectiveAt = 0;
            emit CommissionChanged(msg.sender, bps);
        } else {
            uint64 at = SafeCast.toUint64(block.timestamp + parameterChangeDelay());
            pool.pendingCommissionBps = uint16(bps);
            pool.commissionEffectiveAt = at;
            emit CommissionChangeQueued(msg.sender, bps, at);
        }
    }

    /// @notice Retires the caller: its stake counts zero (not active, never selected), it takes no
    /// delegation, and after REDELEGATION_QUIET_PERIOD its delegators may redelegate without unbonding.
    function retire() external {
        Pool storage pool = _pools[msg.sender];
        if (pool.retiredAt != 0) revert AlreadyRetired(msg.sender);
        pool.retiredAt = uint64(block.timestamp);
        _backingChanged(msg.sender);
        emit OperatorRetired(msg.sender, true);
    }

    /// @notice Ends the caller's retirement; its stake counts again.
    function unretire() external whenNotPaused {
        Pool storage pool = _pools[msg.sender];
        if (pool.retiredAt == 0) revert NotRetired(msg.sender);
        pool.retiredAt = 0;
        _backingChanged(msg.sender);
        emit OperatorRetired(msg.sender, false);
    }

    // ---------------------------------------------------------------- rounds

    /// @dev Credits `amount` earned by `operator`'s node (StakeRegistry.creditRewards, slasher only):
    /// commission = floor(amount * c / 10^4); toDelegators = floor((amount - commission) * D / (S + D))
    /// with D the pool's active amount and S the operator's self-stake; the operator keeps the rest (its
    /// commission, its self-stake share and the floor dust of the split). The pool's own floor dust is kept
    /// in `rewardRemainder` and spread with the next credit, so no reward is lost to rounding.
    function _creditRewards(address operator, uint256 amount) internal returns (uint256 toDelegators) {
        Pool storage pool = _pools[operator];
        uint256 delegated = pool.activeAmount;
        // No shares: at most rounding dust left by the last delegator; the operator keeps the reward (and
        // a division by zero here would block the round's settlement).
        if (delegated == 0 || amount == 0 || pool.activeShares == 0) return 0;
        _settleCommission(operator, pool);
        uint256 commission = (amount * pool.commissionBps) / _BPS;
        toDelegators = Math.mulDiv(amount - commission, delegated, _selfActive(operator) + delegated);
        if (toDelegators != 0) {
            uint256 scaled = toDelegators * REWARD_PRECISION + pool.rewardRemainder;
            uint256 perShare = scaled / pool.activeShares;
            pool.accRewardPerShare += perShare;
            pool.rewardRemainder = scaled - perShare * pool.activeShares;
            _rewardsHeld += toDelegators;
        }
        emit RewardsSplit(operator, amount, commission, toDelegators);
    }

    // ---------------------------------------------------------------- views

    /// @notice `operator`'s pool (commission fields as stored; see `commissionOf` for what applies now).
    function poolOf(address operator) external view returns (Pool memory) {
        return _pools[operator];
    }

    /// @notice `delegator`'s position with `operator` (rewards as last settled; see `pendingRewards`).
    function positionOf(address operator, address delegator) external view returns (Position memory) {
        return _positions[operator][delegator];
    }

    /// @notice The commission that applies now and the raise waiting, if any.
    function commissionOf(address operator)
        public
        view
        returns (uint256 current, uint256 pending, uint64 effectiveAt)
    {
        Pool storage pool = _pools[operator];
        if (pool.commissionEffectiveAt != 0 && block.timestamp >= pool.commissionEffectiveAt) {
            return (pool.pendingCommissionBps, 0, 0);
        }
        return (pool.commissionBps, pool.pendingCommissionBps, pool.commissionEffectiveAt);
    }

    /// @notice Token value of `delegator`'s active and unbonding delegation with `operator`.
    function delegationValue(address operator, address delegator)
        external
        view
        returns (uint256 active, uint256 unbonding)
    {
        Pool storage pool = _pools[operator];
        Position storage pos = _positions[operator][delegator];
        active = _valueOf(pos.shares, pool.activeAmount, pool.activeShares);
        unbonding = _valueOf(pos.unbondingShares, pool.unbondingAmount, pool.unbondingShares);
    }

    /// @notice Rewards `delegator` can claim from `operator`'s pool now.
    function pendingRewards(address operator, address delegator) external view returns (uint256) {
        Pool storage pool = _pools[operator];
        Position storage pos = _positions[operator][delegator];
        return pos.rewards + Math.mulDiv(pos.shares, pool.accRewardPerShare, REWARD_PRECISION) - pos.rewardDebt;
    }

    /// @notice Active delegated stake of `operator` (all of it, counted or not).
    function delegatedStake(address operator) public view returns (uint256) {
        return _pools[operator].activeAmount;
    }

    /// @notice Totals: active delegated stake, unbonding delegated stake, delegator rewards not yet claimed.
    function delegationTotals() external view returns (uint256 active, uint256 unbonding, uint256 rewardsHeld) {
        return (_totalDelegated, _totalDelegatedUnbonding, _rewardsHeld);
    }

    // ---------------------------------------------------------------- internal

    /// @dev The part of `operator`'s delegated stake that counts for it: at most MAX_DELEGATION_RATIO × self,
    /// and nothing while it is retired.
    function _countedDelegation(address operator, uint256 selfActive) internal view returns (uint256) {
        Pool storage pool = _pools[operator];
        if (pool.retiredAt != 0) return 0;
        return Math.min(pool.activeAmount, selfActive * MAX_DELEGATION_RATIO);
    }

    /// @dev True when `operator` is retired.
    function _isRetired(address operator) internal view returns (bool) {
        return _pools[operator].retiredAt != 0;
    }

    /// @dev All of `operator`'s delegated stake that a slash can reach (active and unbonding).
    function _delegatedSlashable(address operator) internal view returns (uint256) {
        return _pools[operator].activeAmount + _pools[operator].unbondingAmount;
    }

    /// @dev Takes the delegated part of a slash of `amount` out of `total` slashable (self + delegated):
    /// active and unbonding pools lose amount × theirs / total (floor); the self part is the rest, and if the
    /// floors push it above `selfSlashable` the excess comes back to the pools. Returns what the pools lost.
    function _slashDelegated(address operator, uint256 amount, uint256 total, uint256 selfSlashable)
        internal
        returns (uint256 taken)
    {
        Pool storage pool = _pools[operator];
        uint256 fromActive = Math.mulDiv(amount, pool.activeAmount, total);
        uint256 fromUnbonding = Math.mulDiv(amount, pool.unbondingAmount, total);
        uint256 selfPart = amount - fromActive - fromUnbonding;
        if (selfPart > selfSlashable) {
            uint256 excess = selfPart - selfSlashable;
            uint256 more = Math.min(excess, pool.activeAmount - fromActive);
            fromActive += more;
            fromUnbonding += excess - more;
        }
        taken = fromActive + fromUnbonding;
        if (taken == 0) return 0;
        pool.activeAmount -= fromActive;
        pool.unbondingAmount -= fromUnbonding;
        _totalDelegated -= fromActive;
        _totalDelegatedUnbonding -= fromUnbonding;
        emit DelegationSlashed(operator, fromActive, fromUnbonding);
    }

    function _delegate(address operator, address delegator, uint256 amount, uint256 maxCommissionBps) private {
        _requireStakingOpen();
        if (amount == 0) revert ZeroDelegation();
        if (operator == delegator) revert SelfDelegation();
        Pool storage pool = _pools[operator];
        if (pool.retiredAt != 0) revert OperatorRetiredError(operator);
        (uint256 current, uint256 pending, ) = commissionOf(operator);
        uint256 worst = pending > current ? pending : current;
        if (worst > maxCommissionBps) revert CommissionAboveLimit(worst, maxCommissionBps);
        uint256 room = _selfActive(operator) * MAX_DELEGATION_RATIO;
        room = room > pool.activeAmount ? room - pool.activeAmount : 0;
        if (amount > room) revert DelegationCapExceeded(amount, room);
        Position storage pos = _positions[operator][delegator];
        _settle(pool, pos);
        if (_isEmpty(pos)) pool.delegators += 1;
        uint256 shares = Math.mulDiv(amount, pool.activeShares + SHARE_OFFSET, pool.activeAmount + 1);
        if (shares == 0) revert ZeroDelegation();
        pool.activeShares += shares;
        pool.activeAmount += amount;
        _totalDelegated += amount;
        pos.shares += shares;
        pos.rewardDebt = Math.mulDiv(pos.shares, pool.accRewardPerShare, REWARD_PRECISION);
        _backingChanged(operator);
        emit Delegated(operator, delegator, amount, shares);
    }

    /// @dev Burns the shares worth about `amount` (all when `amount` reaches the position's value) and takes
    /// their value out of the active pool; returns the tokens taken (rounded down).
    function _takeActive(address operator, address delegator, uint256 amount) private returns (uint256 taken) {
        if (amount == 0) revert ZeroDelegation();
        Pool storage pool = _pools[operator];
        Position storage pos = _positions[operator][delegator];
        if (pos.shares == 0) revert NoDelegation();
        _settle(pool, pos);
        uint256 shares = pos.shares;
        if (amount < _valueOf(shares, pool.activeAmount, pool.activeShares)) {
            shares = Math.mulDiv(amount, pool.activeShares + SHARE_OFFSET, pool.activeAmount + 1, Math.Rounding.Ceil);
            if (shares > pos.shares) shares = pos.shares;
        }
        taken = Math.min(_valueOf(shares, pool.activeAmount, pool.activeShares), pool.activeAmount);
        pool.activeShares -= shares;
        pool.activeAmount -= taken;
        _totalDelegated -= taken;
        pos.shares -= shares;
        pos.rewardDebt = Math.mulDiv(pos.shares, pool.accRewardPerShare, REWARD_PRECISION);
    }

    /// @dev Moves rewards earned since the last settlement into `pos.rewards`.
    function _settle(Pool storage pool, Position storage pos) private {
        uint256 accrued = Math.mulDiv(pos.shares, pool.accRewardPerShare, REWARD_PRECISION);
        if (accrued > pos.rewardDebt) pos.rewards += accrued - pos.rewardDebt;
        pos.rewardDebt = accrued;
    }

    /// @dev Folds a commission raise whose time has come into the current value.
    function _settleCommission(address operator, Pool storage pool) private {
        if (pool.commissionEffectiveAt != 0 && block.timestamp >= pool.commissionEffectiveAt) {
            pool.commissionBps = pool.pendingCommissionBps;
            pool.pendingCommissionBps = 0;
            pool.commissionEffectiveAt = 0;
            emit CommissionChanged(operator, pool.commissionBps);
        }
    }

    /// @dev A position with no shares, no unbonding and no unclaimed rewards (not counted as a delegator).
    function _isEmpty(Position storage pos) private view returns (bool) {
        return pos.shares == 0 && pos.unbondingShares == 0 && pos.rewards == 0;
    }

    function _valueOf(uint256 shares, uint256 amount, uint256 totalShares) private pure returns (uint256) {
        return Math.mulDiv(shares, amount + 1, totalShares + SHARE_OFFSET);
    }
}
