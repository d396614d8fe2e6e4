// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IDelegation} from "../interfaces/IDelegation.sol";
import {StakeRegistry} from "../StakeRegistry.sol";
import {VainToken} from "../VainToken.sol";
import {DelegationFixture} from "../test/DelegationFixture.sol";

/// @notice A delegator contract that does several things in one transaction.
contract SameTxDelegator {
    StakeRegistry internal immutable registry;
    VainToken internal immutable token;

    constructor(StakeRegistry registry_, VainToken token_) {
        registry = registry_;
        token = token_;
    }

    /// Delegates and undelegates everything in one transaction; returns what went to unbonding.
    function inAndOut(address operator, uint256 amount) external returns (uint256) {
        token.approve(address(registry), amount);
        registry.delegate(operator, amount, 10_000);
        return registry.undelegate(operator, type(uint256).max);
    }

    /// Delegates and tries to claim at once (nothing was earned in between).
    function delegateAndClaim(address operator, uint256 amount) external {
        token.approve(address(registry), amount);
        registry.delegate(operator, amount, 10_000);
        registry.claimDelegationRewards(operator);
    }

    function withdraw(address operator) external returns (uint256) {
        return registry.withdrawDelegation(operator);
    }
}

/// @notice The attacks on delegation, each written as the attacker would play it.
contract DelegationAttacksTest is DelegationFixture {
    address internal constant OP = address(0x0CE7);
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    function setUp() public {
        _deployRegistry();
        _stake(OP, 100e18);
    }

    /// Bait and switch: the operator advertises 0%, collects delegation, then raises to the maximum. The raise
    /// cannot apply before a delegator who leaves at once has withdrawn everything, and rewards credited in the
    /// meantime still use 0%.
    function test_attack_commissionBaitAndSwitch() public {
        _delegate(ALICE, OP, 400e18);
        _delegate(BOB, OP, 400e18);
        uint256 max = registry.MAX_COMMISSION_BPS();
        vm.prank(OP);
        registry.setCommission(max);
        (, , uint64 effectiveAt) = registry.commissionOf(OP);
        // Alice notices the queued raise and leaves in the same block.
        vm.prank(ALICE);
        registry.undelegate(OP, type(uint256).max);
        uint64 release = registry.positionOf(OP, ALICE).releaseTime;
        assertTrue(release < effectiveAt, "alice is out before the raise applies");
        // A reward just before the raise applies still pays Bob at 0%.
        vm.warp(effectiveAt - 1);
        assertEq(_credit(OP, 500e18), 400e18, "0% until the delay is over: 500 x 400/500");
        vm.prank(ALICE);
        registry.withdrawDelegation(OP);
        assertEq(token.balanceOf(ALICE), 400e18, "alice left whole");
        // The operator's trick "cut, then raise again" restarts the clock instead of shortening it.
        vm.prank(OP);
        registry.setCommission(0);
        vm.prank(OP);
        registry.setCommission(max);
        (uint256 current, , uint64 again) = registry.commissionOf(OP);
        assertEq(current, 0, "still 0%");
        assertEq(again, block.timestamp + registry.parameterChangeDelay(), "a fresh full delay");
        // A new delegator who would be caught by the pending raise is protected by its limit.
        token.transfer(ALICE, 1e18);
        vm.startPrank(ALICE);
        token.approve(address(registry), 1e18);
        vm.expectRevert(abi.encodeWithSelector(IDelegation.CommissionAboveLimit.selector, 5_000, 1_000));
        registry.delegate(OP, 1e18, 1_000);
        vm.stopPrank();
    }

    /// A delegator that sees a slash coming undelegates in the same block, before the slash: unbonding stake is
    /// slashed pro rata like active stake, so it loses exactly the same fraction as one that stayed.
    function test_attack_undelegateBeforeSlashInSameBlock() public {
        _delegate(ALICE, OP, 300e18);
        _delegate(BOB, OP, 300e18);
        vm.prank(ALICE);
        registry.undelegate(OP, type(uint256).max);
        uint256 total = registry.slashableStake(OP);
        assertEq(total, 700e18, "all of it slashable");
        assertEq(_slash(OP, total / 10), 70e18, "10% of everything");
        _near(_unbonding(OP, ALICE), 270e18, 1, "alice (unbonding) lost 10%");
        _near(_active(OP, BOB), 270e18, 1, "bob (active) lost 10%");
        assertEq(registry.selfStake(OP), 90e18, "operator lost 10%");
        vm.warp(block.timestamp + DELAY);
        vm.prank(ALICE);
        _near(registry.withdrawDelegation(OP), 270e18, 1, "alice withdraws the slashed amount");
    }

    /// A slash while stake is unbonding reaches it: leaving does not escape a fault already committed.
    function test_attack_slashDuringUnbonding() public {
        _delegate(ALICE, OP, 600e18);
        vm.prank(ALICE);
        registry.undelegate(OP, type(uint256).max);
        vm.prank(OP);
        registry.requestUnstake(100e18);
        vm.warp(block.timestamp + DELAY - 1);
        assertEq(_slash(OP, 350e18), 350e18, "half of 700");
        _near(_unbonding(OP, ALICE), 300e18, 1, "delegator's unbonding halved");
        assertEq(registry.unbondingStake(OP), 50e18, "operator's unbonding halved");
    }

    /// A contract delegating and undelegating in one transaction gains nothing from share rounding, and
    /// cannot claim rewards it did not earn.
    function test_attack_sameTransactionRoundTrip() public {
        _delegate(BOB, OP, 333e18 + 1);
        _credit(OP, 77e18 + 3);
        _slash(OP, 11e18 + 5); // an uneven share price
        SameTxDelegator attacker = new SameTxDelegator(registry, token);
        token.transfer(address(attacker), 100e18 + 7);
        uint256 out = attacker.inAndOut(OP, 100e18 + 7);
        assertTrue(out <= 100e18 + 7, "never more than it put in");
        vm.warp(block.timestamp + DELAY);
        attacker.withdraw(OP);
        assertTrue(token.balanceOf(address(attacker)) <= 100e18 + 7, "no rounding profit");
        token.transfer(address(attacker), 1e18);
        vm.expectRevert(IDelegation.NoDelegationRewards.selector);
        attacker.delegateAndClaim(OP, 1e18);
    }

    /// A pool left with rounding dust and no shares (its last delegator left) must not block the rounds
    /// contract's reward credit: the operator keeps the reward.
    function test_attack_dustPoolCannotBlockRewards() public {
        _delegate(ALICE, OP, 100e18 + 1);
        _slash(OP, 3e18 + 7); // an uneven share price leaves rounding dust behind
        vm.prank(ALICE);
        registry.undelegate(OP, type(uint256).max);
        assertEq(registry.poolOf(OP).activeShares, 0, "no shares left");
        assertEq(registry.creditRewards(OP, 10e18), 0, "credit goes through, operator keeps it");
    }

    /// The slash never takes more than the operator and its delegators have, even when asked for more.
    function test_attack_slashCappedAtTotal() public {
        _delegate(ALICE, OP, 900e18);
        assertEq(_slash(OP, 10_000e18), 1_000e18, "everything, no more");
        assertEq(registry.slashableStake(OP), 0, "nothing left");
        // The wiped pool refills at a sane price: a new delegator gets back what it put in.
        _stake(OP, 100e18);
        _delegate(BOB, OP, 50e18);
        assertEq(_active(OP, BOB), 50e18, "fresh value");
        assertEq(_active(OP, ALICE), 0, "old shares worth nothing");
    }
}
