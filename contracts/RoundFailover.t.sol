// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {RoundDriver} from "./test/RoundDriver.sol";
import {RoundsFixture} from "./test/RoundsFixture.sol";

/// @notice The backup aggregator (issue #25: a killed aggregator must not fail its round): drawn with the
/// aggregator from the same fixed inputs, it takes over a missed aggregation with a full window, once, and is
/// never slashed for a duty it did not hold.
contract RoundFailoverTest is RoundsFixture {
    function setUp() public {
        _setUpRounds();
        // Three candidates (agg 1,000, t1 and t2 200 each): every round has a backup.
        _setOptIn(t1, true);
        _setOptIn(t2, true);
        vm.roll(block.number + 1);
    }

    /// A round of the unproven task with all three trainers committed, selected with prevrandao `mix`.
    function _selected(bytes32 mix) internal returns (uint256 roundId, address aggregator, address backup) {
        roundId = _openAndCommitTo(unprovenTaskId);
        aggregator = RoundDriver.select(rounds, roundId, mix);
        backup = selection.getDraws(roundId).backup;
    }

    /// Both draws computed independently of the contract: stake-weighted at the lock block, the backup from
    /// a domain-separated second seed with the aggregator's stake left out.
    function _expected(uint256 roundId, bytes32 mix) internal view returns (address primary, address backup) {
        address[] memory list = selection.aggregatorCandidates(selection.getRound(roundId).taskId);
        uint64 lockBlock = selection.getDraws(roundId).lockBlock;
        uint256[] memory stakes = new uint256[](list.length);
        uint256 total;
        for (uint256 i = 0; i < list.length; ++i) {
            stakes[i] = registry.activeStakeAt(list[i], lockBlock);
            total += stakes[i];
        }
        uint256 seed = uint256(keccak256(abi.encode(mix, roundId)));
        uint256 p = _pick(stakes, seed % total);
        primary = list[p];
        total -= stakes[p];
        stakes[p] = 0;
        uint256 backupSeed = uint256(keccak256(abi.encode(seed, keccak256("vain.backup-aggregator"))));
        backup = list[_pick(stakes, backupSeed % total)];
    }

    function _pick(uint256[] memory stakes, uint256 target) internal pure returns (uint256) {
        for (uint256 i = 0; i < stakes.length; ++i) {
            if (target < stakes[i]) return i;
            target -= stakes[i];
        }
        revert("no pick");
    }

    /// The backup is fixed by the selection's inputs like the aggregator (nobody steers it afterwards), and it
    /// is never the aggregator itself.
    function testFuzz_backupComesFromTheSameDrawAndIsNeverTheAggregator(bytes32 mix) public {
        (uint256 roundId, address aggregator, address backup) = _selected(mix);
        (address expectedPrimary, address expectedBackup) = _expected(roundId, mix);
        assertTrue(aggregator == expectedPrimary, "aggregator");
        assertTrue(backup == expectedBackup, "backup");
        assertTrue(backup != aggregator && backup != address(0), "a different operator");
    }

    /// The aggregator is killed: the backup reports the miss itself and aggregates with a full window; the
    /// missed aggregator is slashed and earns nothing; the round finalizes and pays its trainers.
    function testFuzz_backupTakesOverAMissAndTheRoundFinalizes(bytes32 mix) public {
        (uint256 roundId, address aggregator, address backup) = _selected(mix);
        uint256 stakeBefore = registry.slashableStake(aggregator);
        uint256 backupStake = registry.slashableStake(backup);
        ITrainingRounds.Round memory r = selection.getRound(roundId);
        vm.warp(r.aggregateDeadline + 1);
        vm.prank(backup);
        rounds.reportMissedAggregation(roundId);
        r = selection.getRound(roundId);
        assertTrue(r.aggregator == backup, "the backup aggregates");
        assertEq(uint8(r.state), uint8(ITrainingRounds.RoundState.Aggregating), "still aggregating");
        assertEq(r.aggregateDeadline, block.timestamp + 60, "a full aggregate window from the takeover");
        assertEq(r.challengeDeadline, r.aggregateDeadline + 120, "the challenge window follows");
        assertTrue(selection.getDraws(roundId).backup == address(0), "one takeover per round");
        assertEq(registry.slashableStake(aggregator), stakeBefore / 2, "the missed aggregator is slashed");

        vm.prank(aggregator); // back online too late: the duty is no longer its own
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotAggregator.selector, aggregator));
        rounds.postAggregate(roundId, bytes32("a"), bytes32("m"), _weights(100, 300, 600));

        vm.warp(r.aggregateDeadline); // the backup posts at the last second of its own window
        vm.prank(backup);
        rounds.postAggregate(roundId, bytes32("a"), bytes32("m"), _weights(100, 300, 600));
        vm.warp(selection.getRound(roundId).challengeDeadline + 1);
        rounds.finalizeRound(roundId);
        assertEq(uint8(selection.getRound(roundId).state), uint8(ITrainingRounds.RoundState.Finalized), "finalized");
        assertEq(registry.slashableStake(backup), backupStake, "the backup is not slashed");
        assertTrue(rounds.claimable(t3) > 0, "trainers are paid");
        if (aggregator != t1 && aggregator != t2) assertEq(rounds.claimable(aggregator), 0, "nothing for the miss");
    }

    /// A report later than one aggregate window after the miss comes when the bounded schedule has no room
    /// for the backup: the round fails and the backup, which never held the duty, keeps its stake.
    function test_lateReportFailsTheRoundAndNeverSlashesTheBackup() public {
        (uint256 roundId, address aggregator, address backup) = _selected("late");
        uint256 backupStake = registry.slashableStake(backup);
        uint256 aggregatorStake = registry.slashableStake(aggregator);
        vm.warp(selection.getRound(roundId).aggregateDeadline + 60 + 1);
        rounds.reportMissedAggregation(roundId);
        assertEq(uint8(selection.getRound(roundId).state), uint8(ITrainingRounds.RoundState.Failed), "failed");
        assertEq(registry.slashableStake(backup), backupStake, "backup untouched");
        assertEq(registry.slashableStake(aggregator), aggregatorStake / 2, "the aggregator that missed is slashed");
    }

    /// The backup misses too: it is slashed for its own window and the round fails; there is no third draw.
    function test_aBackupThatAlsoMissesIsSlashedAndTheRoundFails() public {
        (uint256 roundId, , address backup) = _selected("twice");
        uint256 backupStake = registry.slashableStake(backup);
        vm.warp(selection.getRound(roundId).aggregateDeadline + 1);
        rounds.reportMissedAggregation(roundId);
        ITrainingRounds.Round memory r = selection.getRound(roundId);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.DeadlineNotReached.selector, r.aggregateDeadline));
        rounds.reportMissedAggregation(roundId); // the backup's own window is not over
        vm.warp(r.aggregateDeadline + 1);
        rounds.reportMissedAggregation(roundId);
        assertEq(uint8(selection.getRound(roundId).state), uint8(ITrainingRounds.RoundState.Failed), "failed");
        assertEq(registry.slashableStake(backup), backupStake / 2, "the backup's own miss is slashed");
        assertEq(rounds.claimable(t1) + rounds.claimable(t2) + rounds.claimable(t3), 0, "nothing delivered, nobody paid");
    }

    /// Nobody can hand the duty over early: not the backup, not the aggregator itself.
    function test_noTakeoverBeforeTheDeadline() public {
        (uint256 roundId, address aggregator, address backup) = _selected("early");
        uint64 deadline = selection.getRound(roundId).aggregateDeadline;
        vm.warp(deadline);
        vm.prank(backup);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.DeadlineNotReached.selector, deadline));
        rounds.reportMissedAggregation(roundId);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.DeadlineNotReached.selector, deadline));
        rounds.reportMissedAggregation(roundId);
        vm.prank(backup);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotAggregator.selector, backup));
        rounds.postAggregate(roundId, bytes32("a"), bytes32("m"), _weights(1, 1, 1));
    }

    /// A young network with one volunteer: the backup is drawn among the round's trainers (staked, and online
    /// since they just committed), as the bootstrapping rule draws an aggregator; never the aggregator itself.
    function testFuzz_oneVolunteerGetsATrainerAsBackup(bytes32 mix) public {
        _setOptIn(t1, false);
        _setOptIn(t2, false);
        (, address aggregator, address backup) = _selected(mix);
        assertTrue(aggregator == agg, "the only candidate aggregates");
        assertTrue(backup == t1 || backup == t2 || backup == t3, "a trainer is the backup");
    }

    /// Nobody else had stake (the only candidate is also the only trainer): no backup, and a miss fails the round.
    function test_noBackupWhenNobodyElseHadStake() public {
        _setOptIn(t1, false);
        _setOptIn(t2, false);
        uint256 roundId = rounds.openRound(unprovenTaskId);
        vm.prank(agg);
        rounds.commitUpdate(roundId, bytes32("a"), 100);
        vm.warp(block.timestamp + 61);
        assertTrue(RoundDriver.select(rounds, roundId, "alone") == agg, "the only candidate");
        assertTrue(selection.getDraws(roundId).backup == address(0), "no backup");
        vm.warp(selection.getRound(roundId).aggregateDeadline + 1);
        rounds.reportMissedAggregation(roundId);
        assertEq(uint8(selection.getRound(roundId).state), uint8(ITrainingRounds.RoundState.Failed), "failed");
    }
}
