// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {RoundsFixture} from "../test/RoundsFixture.sol";
import {IRoundSelection} from "../interfaces/IRoundSelection.sol";

/// @notice Delegation through the real rounds contract: a delegated trainer's round reward is split in
/// `_credit`, and a delegated aggregator's slash reaches its delegators pro rata.
contract DelegationRoundsTest is RoundsFixture {
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    function setUp() public {
        _setUpRounds();
    }

    function _delegateTo(address who, address operator, uint256 amount) internal {
        token.transfer(who, amount);
        vm.startPrank(who);
        token.approve(address(registry), amount);
        registry.delegate(operator, amount, 10_000);
        vm.stopPrank();
    }

    function test_delegatedTrainerRewardSplitExactly() public {
        vm.prank(t1);
        registry.setCommission(1_000);
        vm.warp(block.timestamp + registry.parameterChangeDelay());
        _delegateTo(ALICE, t1, 600e18);
        vm.roll(block.number + 1);
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 0));
        uint256 chunk = _sampledChunk(roundId);
        bytes memory proof = _proof(roundId, chunk);
        vm.prank(agg);
        rounds.answerChallenge(roundId, chunk, proof);
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline + 1);
        uint256 registryBefore = token.balanceOf(address(registry));
        rounds.finalizeRound(roundId);
        // t1 earned 900 × 100/400 = 225; commission 22.5; delegators 202.5 × 600/800 = 151.875.
        assertEq(rounds.claimable(t1), 225e18 - 151.875e18, "operator: commission + self share");
        assertEq(token.balanceOf(address(registry)) - registryBefore, 151.875e18, "delegators' part moved");
        _near(registry.pendingRewards(t1, ALICE), 151.875e18, 1, "alice's rewards");
        assertEq(rounds.claimable(t2), 675e18, "undelegated trainer untouched");
        vm.prank(ALICE);
        registry.claimDelegationRewards(t1);
        _near(token.balanceOf(ALICE), 151.875e18, 1, "claimed");
    }

    function test_delegatedAggregatorSlashReachesDelegators() public {
        _delegateTo(BOB, agg, 1_000e18);
        vm.roll(block.number + 1);
        uint256 roundId = _openAndCommit();
        vm.warp(block.timestamp + 61);
        vm.prank(WATCHER);
        rounds.reportMissedAggregation(roundId);
        // 50% of everything slashable (1,000 self + 1,000 delegated).
        assertEq(registry.slashableStake(agg), 1_000e18, "half of 2,000 left");
        assertEq(registry.selfStake(agg), 500e18, "self half");
        (uint256 bobActive, ) = registry.delegationValue(agg, BOB);
        _near(bobActive, 500e18, 1, "delegator half");
    }

    function _near(uint256 a, uint256 b, uint256 tolerance, string memory message) internal pure {
        require(a <= b + tolerance && b <= a + tolerance, message);
    }
}
