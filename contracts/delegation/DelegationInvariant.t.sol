// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IDelegation} from "../interfaces/IDelegation.sol";
import {StakeRegistry} from "../StakeRegistry.sol";
import {VainToken} from "../VainToken.sol";
import {TestBase} from "../test/Vm.sol";

/// @notice Random delegator, operator and rounds actions on two operators with three delegators each. The
/// handler is the registry's slasher (it plays the rounds contract: credits rewards and slashes).
contract DelegationHandler is TestBase {
    StakeRegistry public immutable registry;
    VainToken public immutable token;
    address[2] public operators = [address(0x0CE7), address(0x0CE8)];
    address[3] public delegators = [address(0xD1), address(0xD2), address(0xD3)];

    /// @notice Properties found broken inside actions (0 when all held).
    uint256 public violations;
    /// @notice The commission each operator last had, and since when a raise may apply.
    mapping(address operator => uint256) public lastCommission;
    mapping(address operator => uint256) public raiseAllowedAt;
    mapping(address operator => uint256) public raiseTo;

    bool internal _initialised;

    constructor(VainToken token_, StakeRegistry registry_) {
        token = token_;
        registry = registry_;
    }

    /// @notice Funds and stakes the operators and funds the delegators (once; the test calls it after making
    /// this handler the slasher and giving it tokens).
    function init() external {
        if (_initialised) return;
        _initialised = true;
        for (uint256 i = 0; i < 2; ++i) {
            token.transfer(operators[i], 1_000e18);
            vm.startPrank(operators[i]);
            token.approve(address(registry), type(uint256).max);
            registry.stake(1_000e18);
            vm.stopPrank();
        }
        for (uint256 i = 0; i < 3; ++i) {
            token.transfer(delegators[i], 10_000e18);
            vm.prank(delegators[i]);
            token.approve(address(registry), type(uint256).max);
        }
    }

    function delegate(uint256 who, uint256 op, uint256 amount) external {
        address operator = operators[op % 2];
        address d = delegators[who % 3];
        amount = bound(amount, 1, 3_000e18);
        uint256 room = registry.selfStake(operator) * registry.MAX_DELEGATION_RATIO();
        uint256 used = registry.delegatedStake(operator);
        if (used >= room || token.balanceOf(d) == 0) return;
        if (amount > room - used) amount = room - used;
        if (amount > token.balanceOf(d)) amount = token.balanceOf(d);
        vm.prank(d);
        registry.delegate(operator, amount, 10_000);
    }

    function undelegate(uint256 who, uint256 op, uint256 amount) external {
        address operator = operators[op % 2];
        address d = delegators[who % 3];
        if (registry.positionOf(operator, d).shares == 0) return;
        vm.prank(d);
        try registry.undelegate(operator, bound(amount, 1, 3_000e18)) {} catch {
            // rounds to zero on a dust position: allowed to fail
        }
    }

    function withdraw(uint256 who, uint256 op) external {
        address operator = operators[op % 2];
        address d = delegators[who % 3];
        IDelegation.Position memory p = registry.positionOf(operator, d);
        if (p.unbondingShares == 0 || p.releaseTime > block.timestamp) return;
        vm.prank(d);
        registry.withdrawDelegation(operator);
    }

    function claim(uint256 who, uint256 op) external {
        address operator = operators[op % 2];
        address d = delegators[who % 3];
        if (registry.pendingRewards(operator, d) == 0) return;
        vm.prank(d);
        registry.claimDelegationRewards(operator);
    }

    function credit(uint256 op, uint256 amount) external {
        address operator = operators[op % 2];
        amount = bound(amount, 0, 500e18);
        (uint256 current, , ) = registry.commissionOf(operator);
        if (current > lastCommission[operator] && block.timestamp < raiseAllowedAt[operator]) violations += 1;
        if (current > registry.MAX_COMMISSION_BPS()) violations += 1;
        lastCommission[operator] = current;
        uint256 toDelegators = registry.creditRewards(operator, amount);
        if (toDelegators > amount - (amount * current) / 10_000) violations += 1;
        if (toDelegators != 0) token.transfer(address(registry), toDelegators);
    }

    function slash(uint256 op, uint256 bps) external {
        address operator = operators[op % 2];
        uint256 total = registry.slashableStake(operator);
        uint256 amount = (total * bound(bps, 0, 3_000)) / 10_000;
        uint256 slashed = registry.slash(operator, amount, 1, bytes32(0), address(0));
        if (slashed > total || registry.slashableStake(operator) != total - slashed) violations += 1;
        if (registry.selfStake(operator) < 100e18) {
            // keep the operator in the game: top its self-stake up (as a real operator would)
            token.transfer(operator, 100e18);
            vm.prank(operator);
            registry.stake(100e18);
        }
    }

    function setCommission(uint256 op, uint256 bps) external {
        address operator = operators[op % 2];
        bps = bound(bps, 0, registry.MAX_COMMISSION_BPS());
        (uint256 current, , ) = registry.commissionOf(operator);
        lastCommission[operator] = current; // what applies now (a raise may have fallen due since the last credit)
        vm.prank(operator);
        registry.setCommission(bps);
        if (bps > current) raiseAllowedAt[operator] = block.timestamp + registry.parameterChangeDelay();
        else lastCommission[operator] = bps;
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 3 days));
        vm.roll(block.number + 1);
    }

    function delegatorCount() external pure returns (uint256) {
        return 3;
    }
}

/// @notice Invariants of delegation under random play.
contract DelegationInvariantTest is TestBase {
    VainToken internal token;
    StakeRegistry internal registry;
    DelegationHandler internal handler;

    function setUp() public {
        token = new VainToken(address(this), 1_000_000_000e18, 2_000_000_000e18);
        registry = new StakeRegistry(token, address(this), 100e18, 2 days, 1_000);
        handler = new DelegationHandler(token, registry);
        registry.setSlasher(address(handler));
        token.transfer(address(handler), 1_000_000e18);
        handler.init();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_propertiesHeldInsideActions() public view {
        assertEq(handler.violations(), 0, "a slash, split or commission property broke");
    }

    /// Every token the registry holds is someone's: self-stake, delegated stake (active and unbonding) and
    /// delegators' unclaimed rewards (slashed tokens are burned or paid out at once).
    function invariant_solvent() public view {
        (uint256 active, uint256 unbonding, uint256 held) = registry.delegationTotals();
        assertEq(
            token.balanceOf(address(registry)),
            registry.totalActiveStake() + registry.totalUnbondingStake() + active + unbonding + held,
            "registry balance = all stake + rewards held"
        );
    }

    /// Shares add up per pool, positions' values are covered by the pool, rewards owed are covered by held.
    function invariant_sharesAndRewardsCovered() public view {
        uint256 owed;
        for (uint256 o = 0; o < 2; ++o) {
            address operator = handler.operators(o);
            IDelegation.Pool memory pool = registry.poolOf(operator);
            uint256 shares;
            uint256 unbondingShares;
            uint256 value;
            uint256 unbondingValue;
            for (uint256 i = 0; i < 3; ++i) {
                address d = handler.delegators(i);
                IDelegation.Position memory p = registry.positionOf(operator, d);
                shares += p.shares;
                unbondingShares += p.unbondingShares;
                (uint256 a, uint256 u) = registry.delegationValue(operator, d);
                value += a;
                unbondingValue += u;
                owed += registry.pendingRewards(operator, d);
            }
            assertEq(shares, pool.activeShares, "active shares add up");
            assertEq(unbondingShares, pool.unbondingShares, "unbonding shares add up");
            assertTrue(value <= pool.activeAmount, "active values covered");
            assertTrue(unbondingValue <= pool.unbondingAmount, "unbonding values covered");
            (uint256 c, , ) = registry.commissionOf(operator);
            assertTrue(c <= registry.MAX_COMMISSION_BPS(), "commission bounded");
        }
        (, , uint256 held) = registry.delegationTotals();
        assertTrue(owed <= held, "rewards owed covered by rewards held");
    }
}
