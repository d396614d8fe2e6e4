// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IRoundSelection} from "./interfaces/IRoundSelection.sol";
import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {RoundDriver} from "./test/RoundDriver.sol";
import {GroupsFixture} from "./test/GroupsFixture.sol";
import {NUM_CHUNKS} from "./test/RoundsFixture.sol";

/// @notice Hierarchical rounds proven at every level (docs/protocol.md §7, issue #21): group rounds of child
/// tasks are ordinary proven rounds; a finalized one is committed by its aggregator (the group's leader) into
/// the parent task's round as that round's trainer (`commitPartial`), and the parent's aggregate is proven over
/// the partials. A leader that posts a wrong partial is slashed by its group round's challenge and its partial
/// can never reach the parent; nobody commits a plain update into a parent round; the weights conserve.
contract RoundPartialsTest is GroupsFixture {
    uint256 internal constant LEADER2_KEY = 0x1EAD2;
    address internal leader2;
    uint256 internal parentTask;
    uint256 internal childA;
    uint256 internal childB;

    function setUp() public {
        _setUpGroups(24);
        leader2 = vm.addr(LEADER2_KEY);
        _fundAndStake(leader2, 1_000e18);
        // The parent's commit window holds its groups' whole rounds (commit, selection, post, challenges).
        parentTask = rounds.createTask(_taskConfig(bytes32("model0"), NUM_CHUNKS, REWARD, 20_000, 60, 120, 0));
        childA = rounds.createTask(_taskConfig(bytes32("childA0"), NUM_CHUNKS, REWARD, 60, 60, 120, 0));
        childB = rounds.createTask(_taskConfig(bytes32("childB0"), NUM_CHUNKS, REWARD, 60, 60, 120, 0));
        token.approve(address(rounds), 30 * REWARD);
        rounds.fundTask(parentTask, 10 * REWARD);
        rounds.fundTask(childA, 10 * REWARD);
        rounds.fundTask(childB, 10 * REWARD);
        _link(childA, parentTask);
        _link(childB, parentTask);
    }

    /// Runs a round of `task` with three of its drawn members (100, 300, 600 samples) aggregated by `leader` (the only candidate):
    /// posts `weights`, answers the sampled chunk (a proof of another chunk if `lies`: slashed), finalizes.
    function _groupRound(uint256 task, address leader, uint256[] memory weights, bool lies)
        internal
        returns (uint256 roundId)
    {
        _onlyCandidate(task, leader);
        roundId = _openAndCommitMembers(task);
        assertTrue(_select(roundId) == leader, "leader selected");
        vm.prank(leader);
        rounds.postAggregate(roundId, keccak256(abi.encode("partial", roundId)), bytes32("data"), weights);
        RoundDriver.draw(rounds, roundId, keccak256(abi.encode("samples", roundId)));
        uint256 chunk = _sampledChunk(roundId);
        bytes memory proof = _proof(roundId, lies ? (chunk + 1) % NUM_CHUNKS : chunk); // a call: before the prank
        vm.prank(leader);
        rounds.answerChallenge(roundId, chunk, proof);
        if (lies) return roundId;
        _warpPastJudgement(roundId);
        rounds.finalizeRound(roundId);
    }

    /// Aggregates a partials round whose commit phase is over: `agg` posts one partial of `weight`, answers the
    /// sampled chunk, and the round finalizes.
    function _finishPartialsRound(uint256 roundId, uint256 task, uint256 weight) internal {
        vm.warp(block.timestamp + 1);
        _onlyCandidate(task, agg);
        assertTrue(_select(roundId) == agg, "aggregator");
        uint256[] memory one = new uint256[](1);
        one[0] = weight;
        vm.prank(agg);
        rounds.postAggregate(roundId, keccak256(abi.encode("level", roundId)), bytes32("data"), one);
        _answerSampleAndFinalize(roundId);
    }

    /// Makes `who` the only candidate of `task` among agg and leader2.
    function _onlyCandidate(uint256 task, address who) internal {
        address[2] memory all = [agg, leader2];
        for (uint256 i; i < all.length; ++i) {
            bool on = all[i] == who;
            address[] memory now_ = selection.aggregatorCandidates(task);
            bool listed;
            for (uint256 j; j < now_.length; ++j) listed = listed || now_[j] == all[i];
            if (listed == on) continue;
            vm.prank(all[i]);
            selection.setAggregatorOptIn(task, on);
        }
    }

    function _round(uint256 roundId) internal view returns (ITrainingRounds.Round memory) {
        return IRoundSelection(address(rounds)).getRound(roundId);
    }

    /// The two-level round end to end: an honest group's partial is committed and proven in the parent; the
    /// lying leader of the other group is slashed by its group round and its partial refused.
    function test_honestPartialProvenInParent_lyingLeaderSlashed() public {
        uint256 parentRound = rounds.openRound(parentTask);
        uint256 honest = _groupRound(childA, agg, _weights(100, 300, 600), false);
        assertTrue(_round(honest).baseModelRef == _round(parentRound).baseModelRef, "group trains the parent's model");

        uint256 stakeBefore = registry.slashableStake(leader2);
        uint256 lying = _groupRound(childB, leader2, _weights(100, 300, 600), true);
        assertEq(registry.slashableStake(leader2), stakeBefore / 2, "lying leader slashed");
        assertEq(uint8(_round(lying).state), uint8(ITrainingRounds.RoundState.Failed), "its group round failed");
        vm.expectRevert(
            abi.encodeWithSelector(ITrainingRounds.WrongState.selector, lying, ITrainingRounds.RoundState.Failed)
        );
        vm.prank(leader2);
        rounds.commitPartial(parentRound, lying);

        // Only the group's own aggregator commits its partial, once.
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotAggregator.selector, t1));
        vm.prank(t1);
        rounds.commitPartial(parentRound, honest);
        vm.prank(agg);
        rounds.commitPartial(parentRound, honest);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.PartialTaken.selector, honest));
        vm.prank(agg);
        rounds.commitPartial(parentRound, honest);
        // Nobody commits a plain update into a parent round.
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.PartialsOnly.selector, parentRound));
        vm.prank(t1);
        rounds.commitUpdate(parentRound, bytes32("c1"), 100);

        ITrainingRounds.Round memory p = _round(parentRound);
        assertEq(p.trainers.length, 1, "one partial");
        assertTrue(p.trainers[0] == agg, "the leader is the parent's trainer");
        assertTrue(p.commitments[0] == _round(honest).aggregateCommitment, "its commitment is the group's aggregate");
        assertEq(p.sampleCounts[0], 1_000, "its weight is the group's posted weight");

        // The parent round is an ordinary proven round over its partials.
        vm.warp(p.commitDeadline);
        uint256 claimableBefore = rounds.claimable(agg);
        _finishPartialsRound(parentRound, parentTask, 1_000);
        assertEq(uint8(_round(parentRound).state), uint8(ITrainingRounds.RoundState.Finalized), "parent finalized");
        assertEq(rounds.claimable(agg) - claimableBefore, REWARD, "leader paid as trainer and aggregator");
        assertTrue(IRoundSelection(address(rounds)).getTask(parentTask).modelRef != bytes32("model0"), "model advanced");
    }

    /// A partial is bound to its parent task and to the model its parent round trains.
    function test_partialOnlyIntoItsParentOnItsBaseModel() public {
        // A group round finalized before the parent's model moved cannot join a later parent round.
        uint256 first = rounds.openRound(parentTask);
        uint256 stale = _groupRound(childA, agg, _weights(100, 300, 600), false);
        uint256 fresh = _groupRound(childB, agg, _weights(100, 300, 600), false);
        vm.prank(agg);
        rounds.commitPartial(first, fresh);
        vm.warp(_round(first).commitDeadline);
        _finishPartialsRound(first, parentTask, 1_000);
        uint256 second = rounds.openRound(parentTask);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotGroupOf.selector, stale, second));
        vm.prank(agg);
        rounds.commitPartial(second, stale);
        // The next group round trains the parent's new model, and joins.
        uint256 next = _groupRound(childA, agg, _weights(100, 300, 600), false);
        assertTrue(_round(next).baseModelRef == IRoundSelection(address(rounds)).getTask(parentTask).modelRef, "new base");
        vm.prank(agg);
        rounds.commitPartial(second, next);

        // A round of an unlinked task is no group; a round of a plain task takes no partials.
        uint256 parentNow = second;
        uint256 plain = _groupRound(taskId, agg, _weights(100, 300, 600), false);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotGroupOf.selector, plain, parentNow));
        vm.prank(agg);
        rounds.commitPartial(parentNow, plain);
        uint256 plainOpen = rounds.openRound(unprovenTaskId);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotPartialsRound.selector, plainOpen));
        vm.prank(agg);
        rounds.commitPartial(plainOpen, next);
    }

    function test_linkTaskChecks() public {
        uint256 other = rounds.createTask(_taskConfig(bytes32("o"), NUM_CHUNKS, REWARD, 60, 60, 120, 0));
        uint256 otherChunks = rounds.createTask(_taskConfig(bytes32("o"), NUM_CHUNKS + 1, REWARD, 60, 60, 120, 0));
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.InvalidLink.selector, childA, other));
        ext.linkTask(childA, other); // linked before
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.InvalidLink.selector, unprovenTaskId, parentTask));
        ext.linkTask(unprovenTaskId, parentTask); // an unproven partial could lie unslashed
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.InvalidLink.selector, otherChunks, parentTask));
        ext.linkTask(otherChunks, parentTask); // another model
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.InvalidLink.selector, other, other));
        ext.linkTask(other, other);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.InvalidLink.selector, other, parentTask));
        vm.prank(t1); // not the creator of both
        ext.linkTask(other, parentTask);
        ext.linkTask(other, parentTask);
    }

    /// Fuzzed group weights: the partial's weight is the group's posted weight shifted to fit the sample cap,
    /// and every token is accounted for after both levels close (pools + claimable + bonds = funded).
    function testFuzz_partialWeightAndConservation(uint16 a, uint16 b, uint16 c) public {
        uint256[] memory w = _weights(bound(a, 0, 100), bound(b, 0, 300), bound(c, 1, 600));
        uint256 parentRound = rounds.openRound(parentTask);
        uint256 group = _groupRound(childA, agg, w, false);
        vm.prank(agg);
        rounds.commitPartial(parentRound, group);
        assertEq(_round(parentRound).sampleCounts[0], w[0] + w[1] + w[2], "group weight (below the cap: no shift)");
        vm.warp(_round(parentRound).commitDeadline);
        _finishPartialsRound(parentRound, parentTask, w[0] + w[1] + w[2]);
        (uint256 funded, uint256 unclaimed, uint256 bonds) = rounds.totals();
        uint256 pools;
        for (uint256 id = 1; id <= childB; ++id) pools += IRoundSelection(address(rounds)).getTask(id).rewardPool;
        assertEq(funded, pools + unclaimed + bonds, "conservation");
        assertEq(token.balanceOf(address(rounds)), pools + unclaimed + bonds, "solvent");
    }

    /// A parent round's commit window is sized for the slowest group round (16 challenges): once it holds a
    /// partial from every group of its task it has nothing left to wait for and its commit phase closes at once,
    /// its later deadlines moving up with it. Two partials of one group are one group: they close nothing.
    function test_commitPhaseClosesOnceEveryGroupIsIn_oneGroupTwice() public {
        uint256 parentRound = rounds.openRound(parentTask);
        uint64 windowEnd = _round(parentRound).commitDeadline;
        uint256 a1 = _groupRound(childA, agg, _weights(100, 300, 600), false);
        uint256 a2 = _groupRound(childA, leader2, _weights(100, 300, 600), false);
        vm.prank(agg);
        rounds.commitPartial(parentRound, a1);
        vm.prank(leader2);
        rounds.commitPartial(parentRound, a2);
        assertEq(_round(parentRound).commitDeadline, windowEnd, "one group twice: the window stays");
    }

    /// ... and one from each group closes it.
    function test_commitPhaseClosesOnceEveryGroupIsIn_bothGroups() public {
        uint256 next = rounds.openRound(parentTask);
        uint64 windowEnd = _round(next).commitDeadline;
        uint256 a = _groupRound(childA, agg, _weights(100, 300, 600), false);
        uint256 b = _groupRound(childB, leader2, _weights(100, 300, 600), false);
        vm.prank(agg);
        rounds.commitPartial(next, a);
        assertEq(_round(next).commitDeadline, windowEnd, "one group of two: the window stays");
        vm.expectEmit(address(rounds));
        emit ITrainingRounds.CommitPhaseClosed(next, uint64(block.timestamp));
        vm.prank(leader2);
        rounds.commitPartial(next, b);
        ITrainingRounds.Round memory closed = _round(next);
        assertEq(closed.commitDeadline, block.timestamp, "every group in: the commit phase ends now");
        assertEq(closed.aggregateDeadline, block.timestamp + 60, "the aggregate deadline moved up");
        assertEq(closed.challengeDeadline, block.timestamp + 180, "the challenge deadline moved up");
        assertEq(selection.getDraws(next).selectionDeadline, closed.aggregateDeadline, "and the selection's");
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.DeadlineNotReached.selector, block.timestamp));
        selection.lockSelection(next);
        vm.warp(block.timestamp + 1);
        _onlyCandidate(parentTask, agg);
        assertTrue(_select(next) == agg, "selected at once, not ~5.5 hours later");
    }

    /// A group heavier than the sample cap enters with its weight shifted right until it fits.
    function test_heavyGroupShiftedToTheCap() public {
        uint256 parentRound = rounds.openRound(parentTask);
        // Commits of 10,000 samples each (the fixture's cap), all accepted: 30,000 > 10,000, shift 2 -> 7,500.
        _onlyCandidate(childA, agg);
        _drawSeed(keccak256("mix"));
        uint256 group = rounds.openRound(childA);
        address[] memory ts = _members(group, childA, 3);
        for (uint256 i; i < 3; ++i) {
            vm.prank(ts[i]);
            rounds.commitUpdate(group, bytes32(i), 10_000);
        }
        vm.warp(block.timestamp + 61);
        _select(group);
        vm.prank(agg);
        rounds.postAggregate(group, bytes32("heavy"), bytes32("data"), _weights(10_000, 10_000, 10_000));
        _answerSampleAndFinalize(group);
        vm.prank(agg);
        rounds.commitPartial(parentRound, group);
        assertEq(_round(parentRound).sampleCounts[0], 7_500, "30,000 >> 2");
    }

    /// A middle level below `parentTask` and a leaf group below it (three levels, MAX_TASK_LEVELS).
    function _threeLevels() internal returns (uint256 mid, uint256 leaf) {
        // The middle's commit window holds a whole leaf round; the root's (20,000 s) a whole middle round.
        mid = rounds.createTask(_taskConfig(bytes32("mid0"), NUM_CHUNKS, REWARD, 10_000, 60, 120, 0));
        leaf = rounds.createTask(_taskConfig(bytes32("leaf0"), NUM_CHUNKS, REWARD, 60, 60, 120, 0));
        token.approve(address(rounds), 20 * REWARD);
        rounds.fundTask(mid, 10 * REWARD);
        rounds.fundTask(leaf, 10 * REWARD);
        _link(leaf, mid);
        _link(mid, parentTask);
    }

    /// Three levels: a leaf group round's partial goes into the middle task's round, whose finalized round goes
    /// into the root's as a partial of partials; every level trains the root's model. A leaf round opened after a
    /// middle round finalized (which moved the middle task's model to one no level trains) and before the next
    /// middle round opened still trains the root's model and joins that next middle round.
    function test_threeLevels_partialOfAPartial_allOnTheRootsModel() public {
        (uint256 mid, uint256 leaf) = _threeLevels();
        uint256 topRound = rounds.openRound(parentTask);
        uint256 midRound = rounds.openRound(mid);
        uint256 leafRound = _groupRound(leaf, agg, _weights(100, 300, 600), false);
        bytes32 base = _round(topRound).baseModelRef;
        assertTrue(_round(midRound).baseModelRef == base, "the middle trains the root's model");
        assertTrue(_round(leafRound).baseModelRef == base, "the leaf trains the root's model");
        vm.prank(agg);
        rounds.commitPartial(midRound, leafRound);
        _finishPartialsRound(midRound, mid, 1_000);
        vm.prank(agg);
        rounds.commitPartial(topRound, midRound);
        ITrainingRounds.Round memory top = _round(topRound);
        assertTrue(top.trainers[0] == agg, "the middle round's aggregator is the root round's trainer");
        assertTrue(top.commitments[0] == _round(midRound).aggregateCommitment, "with the middle's aggregate");
        assertEq(top.sampleCounts[0], 1_000, "and its weight");

        assertTrue(IRoundSelection(address(rounds)).getTask(mid).modelRef != base, "the middle's model moved");
        uint256 leaf2 = _groupRound(leaf, agg, _weights(100, 300, 600), false);
        assertTrue(_round(leaf2).baseModelRef == base, "still the root's model");
        uint256 midRound2 = rounds.openRound(mid);
        vm.prank(agg);
        rounds.commitPartial(midRound2, leaf2);
        assertEq(_round(midRound2).trainers.length, 1, "joined");
    }

    /// The creator's own links cannot make a hierarchy no round of which finalizes, or one deeper than
    /// MAX_TASK_LEVELS whichever order it is built in.
    function test_linkTaskRefusesCyclesAndAFourthLevel() public {
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.InvalidLink.selector, parentTask, childA));
        ext.linkTask(parentTask, childA); // the root under its own group: a cycle
        (, uint256 leaf) = _threeLevels();
        uint256[4] memory t;
        for (uint256 i; i < 4; ++i)
            t[i] = rounds.createTask(_taskConfig(bytes32(i), NUM_CHUNKS, REWARD, 60, 60, 120, 0));
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.InvalidLink.selector, t[0], leaf));
        ext.linkTask(t[0], leaf); // a fourth level below
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.InvalidLink.selector, parentTask, t[0]));
        ext.linkTask(parentTask, t[0]); // a fourth level above
        // Bottom-up: t0 under t1 under t2 is three levels; t2 under t3 would be four.
        _link(t[0], t[1]);
        _link(t[1], t[2]);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.InvalidLink.selector, t[2], t[3]));
        ext.linkTask(t[2], t[3]);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.InvalidLink.selector, t[2], t[0]));
        ext.linkTask(t[2], t[0]); // a cycle through three tasks
    }
}
