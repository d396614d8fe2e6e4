// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {console} from "hardhat/console.sol";

import {DelegationFixture} from "../test/DelegationFixture.sol";

/// @notice Gas of a delegator's actions with 1, 100 and 1,000+ other delegators on the operator: flat, since
/// nothing walks delegators (shares and a reward-per-share accumulator). Prints the figures; asserts that
/// the 1,000-delegator cost is within 10% of the 1-delegator cost (cold/warm storage differences only).
contract DelegationGasTest is DelegationFixture {
    address internal constant OP = address(0x0CE7);
    address internal constant ME = address(0x3E);

    struct Costs {
        uint256 delegate;
        uint256 credit;
        uint256 claim;
        uint256 undelegate;
        uint256 slash;
        uint256 withdraw;
    }

    function setUp() public {
        _deployRegistry();
        _stake(OP, 1_000_000e18);
    }

    function _crowd(uint256 from, uint256 to) internal {
        for (uint256 i = from; i < to; ++i) _delegate(address(uint160(0x10000 + i)), OP, 1e18 + i);
    }

    function _measure() internal returns (Costs memory c) {
        token.transfer(ME, 100e18);
        vm.prank(ME);
        token.approve(address(registry), 100e18);
        uint256 g = gasleft();
        vm.prank(ME);
        registry.delegate(OP, 100e18, ANY_COMMISSION);
        c.delegate = g - gasleft();
        g = gasleft();
        registry.creditRewards(OP, 10e18);
        c.credit = g - gasleft();
        token.transfer(address(registry), 10e18); // at most this much went to delegators
        g = gasleft();
        vm.prank(ME);
        registry.claimDelegationRewards(OP);
        c.claim = g - gasleft();
        g = gasleft();
        vm.prank(ME);
        registry.undelegate(OP, 50e18);
        c.undelegate = g - gasleft();
        g = gasleft();
        _slash(OP, 1e18);
        c.slash = g - gasleft();
        vm.warp(block.timestamp + DELAY);
        g = gasleft();
        vm.prank(ME);
        registry.withdrawDelegation(OP);
        c.withdraw = g - gasleft();
    }

    function _print(uint256 n, Costs memory c) internal pure {
        console.log("delegators", n);
        console.log("  delegate", c.delegate);
        console.log("  creditRewards", c.credit);
        console.log("  claimDelegationRewards", c.claim);
        console.log("  undelegate", c.undelegate);
        console.log("  slash", c.slash);
        console.log("  withdrawDelegation", c.withdraw);
    }

    function test_gasFlatWithThousandsOfDelegators() public {
        uint256 snap = vm.snapshotState();
        _crowd(0, 1);
        Costs memory one = _measure();
        _print(1, one);
        vm.revertToState(snap);
        snap = vm.snapshotState();
        _crowd(0, 100);
        _print(100, _measure());
        vm.revertToState(snap);
        _crowd(0, 2_000);
        Costs memory many = _measure();
        _print(2_000, many);
        assertTrue(many.delegate <= (one.delegate * 11) / 10, "delegate flat");
        assertTrue(many.claim <= (one.claim * 11) / 10, "claim flat");
        assertTrue(many.undelegate <= (one.undelegate * 11) / 10, "undelegate flat");
        assertTrue(many.slash <= (one.slash * 11) / 10, "slash flat");
        assertTrue(many.withdraw <= (one.withdraw * 11) / 10, "withdraw flat");
    }
}
