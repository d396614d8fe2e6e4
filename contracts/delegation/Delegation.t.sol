// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IDelegation} from "../interfaces/IDelegation.sol";
import {StakeRegistry} from "../StakeRegistry.sol";
import {DelegationFixture} from "../test/DelegationFixture.sol";

/// @notice Delegation rules, one by one: counted stake, cap, undelegation, exact reward split, commission
/// bounds and delay, retirement and redelegation, permit.
contract DelegationTest is DelegationFixture {
    address internal constant OP = address(0x0CE7);
    address internal constant OP2 = address(0x0CE8);
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    function setUp() public {
        _deployRegistry();
        _stake(OP, 100e18);
        _stake(OP2, 100e18);
    }

    function test_delegationCountsForTheOperator() public {
        _delegate(ALICE, OP, 300e18);
        assertEq(registry.activeStake(OP), 400e18, "counted = self + delegated");
        assertEq(registry.selfStake(OP), 100e18, "self");
        assertEq(registry.delegatedStake(OP), 300e18, "delegated");
        assertEq(registry.slashableStake(OP), 400e18, "slashable");
        assertEq(_active(OP, ALICE), 300e18, "position value");
        assertEq(registry.poolOf(OP).delegators, 1, "one delegator");
        vm.roll(block.number + 1);
        assertEq(registry.activeStakeAt(OP, block.number - 1), 400e18, "checkpoint holds the counted stake");
        assertTrue(registry.isActiveOperator(OP), "active");
    }

    function test_capOnDelegatedToSelfRatio() public {
        uint256 cap = 100e18 * registry.MAX_DELEGATION_RATIO();
        _delegate(ALICE, OP, cap);
        token.transfer(BOB, 1);
        vm.startPrank(BOB);
        token.approve(address(registry), 1);
        vm.expectRevert(abi.encodeWithSelector(IDelegation.DelegationCapExceeded.selector, 1, 0));
        registry.delegate(OP, 1, ANY_COMMISSION);
        vm.stopPrank();
        // The operator leaves half its self-stake: only 9 × the rest counts, all stays slashable.
        vm.prank(OP);
        registry.requestUnstake(50e18);
        assertEq(registry.activeStake(OP), 50e18 + 450e18, "counted delegation capped at 9 x self");
        assertEq(registry.slashableStake(OP), 100e18 + cap, "everything slashable");
    }

    function test_selfDelegationAndZeroRejected() public {
        token.transfer(OP, 1e18);
        vm.startPrank(OP);
        token.approve(address(registry), 1e18);
        vm.expectRevert(IDelegation.SelfDelegation.selector);
        registry.delegate(OP, 1e18, ANY_COMMISSION);
        vm.expectRevert(IDelegation.ZeroDelegation.selector);
        registry.delegate(OP2, 0, ANY_COMMISSION);
        vm.stopPrank();
    }

    function test_undelegateWaitsForTheUnbondingDelay() public {
        _delegate(ALICE, OP, 300e18);
        vm.prank(ALICE);
        uint256 taken = registry.undelegate(OP, 100e18);
        assertEq(taken, 100e18, "taken");
        assertEq(registry.activeStake(OP), 300e18, "counted stake dropped at once");
        assertEq(registry.slashableStake(OP), 400e18, "unbonding stays slashable");
        uint64 release = registry.positionOf(OP, ALICE).releaseTime;
        assertEq(release, block.timestamp + DELAY, "release");
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IDelegation.DelegationNotReleased.selector, release));
        registry.withdrawDelegation(OP);
        vm.warp(release);
        vm.prank(ALICE);
        assertEq(registry.withdrawDelegation(OP), 100e18, "withdrawn");
        assertEq(token.balanceOf(ALICE), 100e18, "paid");
        assertEq(_active(OP, ALICE), 200e18, "rest still delegated");
        vm.prank(ALICE);
        registry.undelegate(OP, type(uint256).max); // all
        assertEq(_active(OP, ALICE), 0, "all undelegated");
        vm.warp(block.timestamp + DELAY);
        vm.prank(ALICE);
        registry.withdrawDelegation(OP);
        assertEq(token.balanceOf(ALICE), 300e18, "everything back");
        assertEq(registry.poolOf(OP).delegators, 0, "no delegator left");
    }

    function test_rewardSplitIsExact() public {
        vm.prank(OP);
        registry.setCommission(1_000);
        vm.warp(block.timestamp + registry.parameterChangeDelay());
        _delegate(ALICE, OP, 300e18);
        _delegate(BOB, OP, 500e18);
        uint256 amount = 1_000e18 + 7;
        uint256 toDelegators = _credit(OP, amount);
        // commission floor(amount/10) = 100e18; rest 900e18+7; delegators floor(rest × 800/900) = 800e18+6.
        assertEq(toDelegators, 800e18 + 6, "delegators' part");
        // per share: (800e18+6)·1e36 / 800e24 = 1e30 + 7.5e9 → alice 300e18 + 2, bob 500e18 + 3, 1 wei dust.
        assertEq(registry.pendingRewards(OP, ALICE), 300e18 + 2, "alice");
        assertEq(registry.pendingRewards(OP, BOB), 500e18 + 3, "bob");
        vm.prank(ALICE);
        registry.claimDelegationRewards(OP);
        vm.prank(BOB);
        registry.claimDelegationRewards(OP);
        assertEq(token.balanceOf(ALICE), 300e18 + 2, "alice paid");
        (, , uint256 held) = registry.delegationTotals();
        assertEq(held, 1, "one wei of floor dust stays held, owed to nobody yet");
        vm.prank(ALICE);
        vm.expectRevert(IDelegation.NoDelegationRewards.selector);
        registry.claimDelegationRewards(OP);
    }

    function test_noDelegatorsMeansNothingTaken() public {
        assertEq(registry.creditRewards(OP, 1_000e18), 0, "operator keeps all");
    }

    function test_onlySlasherCredits() public {
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.NotSlasher.selector, ALICE));
        registry.creditRewards(OP, 1);
    }

    function test_commissionBounded() public {
        uint256 max = registry.MAX_COMMISSION_BPS();
        vm.prank(OP);
        vm.expectRevert(abi.encodeWithSelector(IDelegation.CommissionOutOfBounds.selector, max + 1));
        registry.setCommission(max + 1);
    }

    function test_commissionRaiseWaitsLongerThanUnbonding() public {
        _delegate(ALICE, OP, 300e18);
        uint256 queuedAt = block.timestamp;
        vm.prank(OP);
        registry.setCommission(2_000);
        (uint256 current, uint256 pending, uint64 effectiveAt) = registry.commissionOf(OP);
        assertEq(current, 0, "not yet");
        assertEq(pending, 2_000, "pending");
        assertEq(effectiveAt, queuedAt + registry.parameterChangeDelay(), "effective");
        assertTrue(effectiveAt > queuedAt + registry.unbondingDelay(), "delay longer than unbonding");
        vm.warp(effectiveAt - 1);
        assertEq(_credit(OP, 400e18), 300e18, "old commission (0%) until the delay is over");
        vm.warp(effectiveAt);
        // 20% of 400 = 80; 320 × 300/400 = 240.
        assertEq(_credit(OP, 400e18), 240e18, "new commission applies at the effective time");
    }

    function test_commissionCutAppliesAtOnceAndDropsRaise() public {
        vm.prank(OP);
        registry.setCommission(3_000);
        vm.warp(block.timestamp + registry.parameterChangeDelay());
        vm.prank(OP);
        registry.setCommission(4_000);
        vm.prank(OP);
        registry.setCommission(1_000);
        (uint256 current, uint256 pending, uint64 effectiveAt) = registry.commissionOf(OP);
        assertEq(current, 1_000, "cut at once");
        assertEq(pending + effectiveAt, 0, "raise dropped");
    }

    function test_retiredOperatorCountsZeroAndTakesNoDelegation() public {
        _delegate(ALICE, OP, 300e18);
        vm.prank(OP);
        registry.retire();
        assertEq(registry.activeStake(OP), 0, "retired counts zero");
        assertTrue(!registry.isActiveOperator(OP), "not active");
        assertEq(registry.slashableStake(OP), 400e18, "still slashable");
        token.transfer(BOB, 1e18);
        vm.startPrank(BOB);
        token.approve(address(registry), 1e18);
        vm.expectRevert(abi.encodeWithSelector(IDelegation.OperatorRetiredError.selector, OP));
        registry.delegate(OP, 1e18, ANY_COMMISSION);
        vm.stopPrank();
        vm.prank(OP);
        registry.unretire();
        assertEq(registry.activeStake(OP), 400e18, "back");
    }

    function test_redelegationOnlyAwayFromAQuietRetiredOperator() public {
        _delegate(ALICE, OP, 300e18);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IDelegation.RedelegationLocked.selector, OP, 0));
        registry.redelegate(OP, OP2, 300e18, ANY_COMMISSION);
        vm.prank(OP);
        registry.retire();
        uint64 availableAt = uint64(block.timestamp + registry.REDELEGATION_QUIET_PERIOD());
        vm.warp(availableAt - 1);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IDelegation.RedelegationLocked.selector, OP, availableAt));
        registry.redelegate(OP, OP2, 300e18, ANY_COMMISSION);
        vm.warp(availableAt);
        vm.prank(ALICE);
        assertEq(registry.redelegate(OP, OP2, type(uint256).max, ANY_COMMISSION), 300e18, "moved");
        assertEq(_active(OP2, ALICE), 300e18, "at the new operator");
        assertEq(registry.delegatedStake(OP), 0, "left the old pool");
        assertEq(registry.poolOf(OP).delegators, 0, "old pool empty");
        assertEq(registry.activeStake(OP2), 400e18, "new operator counts it");
    }

    function test_delegateWithPermit() public {
        uint256 key = 0xA11CE5;
        address owner_ = vm.addr(key);
        token.transfer(owner_, 50e18);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner_,
                address(registry),
                50e18,
                token.nonces(owner_),
                deadline
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(
            key,
            keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash))
        );
        vm.prank(owner_);
        registry.delegateWithPermit(OP, 50e18, 0, deadline, v, r, s);
        assertEq(_active(OP, owner_), 50e18, "delegated by permit");
    }

    function test_pauseBlocksDelegationNotExits() public {
        _delegate(ALICE, OP, 300e18);
        registry.pause();
        token.transfer(BOB, 1e18);
        vm.startPrank(BOB);
        token.approve(address(registry), 1e18);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        registry.delegate(OP, 1e18, ANY_COMMISSION);
        vm.stopPrank();
        vm.prank(ALICE);
        registry.undelegate(OP, 300e18);
        vm.warp(block.timestamp + DELAY);
        vm.prank(ALICE);
        registry.withdrawDelegation(OP);
        assertEq(token.balanceOf(ALICE), 300e18, "exit open during a pause");
    }
}
