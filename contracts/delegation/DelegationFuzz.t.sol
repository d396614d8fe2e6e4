// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {DelegationFixture} from "../test/DelegationFixture.sol";

/// @notice Fuzzed properties of one split and one slash, over any stakes, commission and amounts.
contract DelegationFuzzTest is DelegationFixture {
    address internal constant OP = address(0x0CE7);
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    function setUp() public {
        _deployRegistry();
    }

    /// Rewards are conserved: operator part + delegators' part = amount; what delegators can claim never
    /// exceeds their part, and falls short by at most one wei per delegator (floor dust, held).
    function testFuzz_rewardsConserved(uint256 self, uint256 a, uint256 b, uint256 bps, uint256 amount) public {
        // the treasury holds 1e27: self + a + b + amount stays below it
        self = bound(self, 1, 5e25);
        a = bound(a, 1, self * 4);
        b = bound(b, 1, self * 5);
        bps = bound(bps, 0, registry.MAX_COMMISSION_BPS());
        amount = bound(amount, 0, 1e26);
        _stake(OP, self);
        vm.prank(OP);
        registry.setCommission(bps);
        vm.warp(block.timestamp + registry.parameterChangeDelay());
        _delegate(ALICE, OP, a);
        _delegate(BOB, OP, b);
        uint256 toDelegators = _credit(OP, amount);
        uint256 commission = (amount * bps) / 10_000;
        assertTrue(toDelegators <= amount - commission, "delegators never get the commission");
        assertEq(toDelegators, ((amount - commission) * (a + b)) / (self + a + b), "formula");
        uint256 owed = registry.pendingRewards(OP, ALICE) + registry.pendingRewards(OP, BOB);
        assertTrue(owed <= toDelegators && toDelegators - owed <= 2, "claims within 2 wei of the part");
        (, , uint256 held) = registry.delegationTotals();
        assertEq(held, toDelegators, "held in full");
    }

    /// A slash never exceeds the operator's total, and it takes the same fraction from self-stake, active and
    /// unbonding delegation (up to rounding).
    function testFuzz_slashProRataAndCapped(uint256 self, uint256 a, uint256 b, uint256 amount) public {
        self = bound(self, 1e6, 5e25);
        a = bound(a, 1e6, self * 4);
        b = bound(b, 1e6, self * 5);
        _stake(OP, self);
        _delegate(ALICE, OP, a);
        _delegate(BOB, OP, b);
        vm.prank(BOB);
        registry.undelegate(OP, type(uint256).max);
        uint256 total = registry.slashableStake(OP);
        amount = bound(amount, 0, total * 2);
        uint256 slashed = _slash(OP, amount);
        assertEq(slashed, amount < total ? amount : total, "slashed = min(asked, total)");
        uint256 left = total - slashed;
        // each keeps its share of what is left, within 2 wei of rounding
        _near(registry.selfStake(OP), (self * left) / total, 3, "self pro rata");
        _near(_active(OP, ALICE), (a * left) / total, 3, "active delegation pro rata");
        _near(_unbonding(OP, BOB), (b * left) / total, 3, "unbonding delegation pro rata");
        assertEq(registry.slashableStake(OP), left, "books balance");
    }

    /// A raise never applies before its delay; the current commission is never above the bound.
    function testFuzz_commissionDelay(uint256 bps, uint256 wait) public {
        bps = bound(bps, 1, registry.MAX_COMMISSION_BPS());
        _stake(OP, 100e18);
        uint256 delay = registry.parameterChangeDelay();
        wait = bound(wait, 0, delay * 2);
        uint256 queuedAt = block.timestamp;
        vm.prank(OP);
        registry.setCommission(bps);
        vm.warp(queuedAt + wait);
        (uint256 current, , ) = registry.commissionOf(OP);
        assertEq(current, wait < delay ? 0 : bps, "applies exactly at the delay");
        assertTrue(current <= registry.MAX_COMMISSION_BPS(), "bounded");
    }

    /// Shares and value: any delegate/undelegate sequence on an uneven share price returns at most what was
    /// put in, and the pool's shares are the sum of the positions' shares.
    function testFuzz_sharesAddUp(uint256 a, uint256 b, uint256 cut, uint256 outA) public {
        _stake(OP, 1e26);
        a = bound(a, 1, 4e26);
        _delegate(ALICE, OP, a);
        cut = bound(cut, 0, a);
        _slash(OP, cut);
        // The slash shrank the operator's self-stake too: Bob delegates within the room the cap leaves.
        uint256 room = registry.selfStake(OP) * registry.MAX_DELEGATION_RATIO();
        uint256 held = registry.poolOf(OP).activeAmount;
        vm.assume(room > held);
        b = bound(b, 1, Math.min(4e26, room - held));
        _delegate(BOB, OP, b);
        outA = bound(outA, 1, a);
        uint256 before = _active(OP, ALICE);
        vm.prank(ALICE);
        uint256 taken = registry.undelegate(OP, outA);
        assertTrue(taken <= before, "never more than the position's value");
        assertEq(
            registry.poolOf(OP).activeShares,
            registry.positionOf(OP, ALICE).shares + registry.positionOf(OP, BOB).shares,
            "shares add up"
        );
        assertTrue(_active(OP, ALICE) + _active(OP, BOB) <= registry.delegatedStake(OP), "values covered");
    }
}
