// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IRoundSelection} from "./interfaces/IRoundSelection.sol";
import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {RoundsFixture} from "./test/RoundsFixture.sol";

/// @notice The challenge game on the fixture's proven task: wrong, missing, late and disputed answers, bonds.
contract RoundChallengesTest is RoundsFixture {
    function setUp() public {
        _setUpRounds();
    }

    function test_unprovenRoundCannotBeChallenged() public {
        taskId = unprovenTaskId;
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        vm.startPrank(WATCHER);
        token.approve(address(rounds), BOND);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.UnprovenRound.selector, roundId));
        rounds.challenge(roundId, 0);
        vm.stopPrank();
    }

    function test_wrongProofSlashesAggregatorAndFailsRound() public {
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        uint256 chunk = _sampledChunk(roundId);
        uint256 before = registry.slashableStake(agg);
        uint256 otherChunk = (chunk + 1) % 4;
        bytes memory wrongProof = _proof(roundId, otherChunk); // a valid proof, but for another chunk
        vm.prank(agg);
        rounds.answerChallenge(roundId, chunk, wrongProof);
        assertEq(registry.slashableStake(agg), before / 2, "50% slashed");
        assertEq(uint8(IRoundSelection(address(rounds)).getRound(roundId).state), uint8(ITrainingRounds.RoundState.Failed), "failed");
        assertTrue(IRoundSelection(address(rounds)).getTask(taskId).modelRef == bytes32("model0"), "model did not advance");
        // Trainers are paid by posted weight (their delivery proof), at most half the 500 slashed: 250 of 900.
        assertEq(rounds.claimable(t3), 150e18, "t3 paid by posted weight, capped");
        assertEq(rounds.claimable(agg), 0, "aggregator unpaid");
    }

    function test_bondedChallengeAnsweredForfeitsBond() public {
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        uint256 sampled = _sampledChunk(roundId);
        uint256 chunk = (sampled + 1) % 4;
        vm.startPrank(WATCHER);
        token.approve(address(rounds), BOND);
        rounds.challenge(roundId, chunk);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.AlreadyChallenged.selector, chunk));
        rounds.challenge(roundId, chunk);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.InvalidChunk.selector, 9, uint32(4)));
        rounds.challenge(roundId, 9);
        vm.stopPrank();
        bytes memory proofA = _proof(roundId, chunk);
        bytes memory proofB = _proof(roundId, sampled);
        vm.startPrank(agg);
        rounds.answerChallenge(roundId, chunk, proofA);
        rounds.answerChallenge(roundId, sampled, proofB);
        vm.stopPrank();
        assertEq(rounds.claimable(agg), 0, "bond held while the answer is disputable");
        vm.expectRevert(
            abi.encodeWithSelector(ITrainingRounds.WrongState.selector, roundId, ITrainingRounds.RoundState.Challenging)
        );
        rounds.settleBond(roundId, chunk);
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline + 1);
        rounds.finalizeRound(roundId);
        assertEq(rounds.claimable(agg), 100e18, "reward");
        rounds.settleBond(roundId, chunk);
        assertEq(rounds.claimable(agg), BOND + 100e18, "bond + reward");
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NothingToSettle.selector, chunk));
        rounds.settleBond(roundId, chunk);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NothingToSettle.selector, sampled));
        rounds.settleBond(roundId, sampled); // sampled: no bond
    }

    /// The challenge window runs from the post, not from the aggregate deadline: an aggregator that posts at once
    /// does not hold its round (and the task's next one) for the unused rest of its aggregate window, and a
    /// bonded challenge after that window is refused.
    function test_challengeWindowRunsFromThePost() public {
        uint256 roundId = _openAndCommit();
        ITrainingRounds.Round memory before = IRoundSelection(address(rounds)).getRound(roundId);
        uint64 window = before.challengeDeadline - before.aggregateDeadline;
        vm.warp(block.timestamp + 3); // well inside the aggregate window
        uint256 postedAt = block.timestamp;
        _post(roundId, _weights(100, 300, 600));
        uint64 deadline = IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline;
        assertEq(deadline, postedAt + window, "one challenge window from the post");
        assertTrue(deadline < before.challengeDeadline, "earlier than the aggregate deadline's window");
        uint256 sampled = _sampledChunk(roundId);
        bytes memory proof = _proof(roundId, sampled);
        vm.prank(agg);
        rounds.answerChallenge(roundId, sampled, proof);
        vm.warp(uint256(deadline) + 1);
        vm.startPrank(WATCHER);
        token.approve(address(rounds), BOND);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.DeadlinePassed.selector, deadline));
        rounds.challenge(roundId, (sampled + 1) % 4);
        vm.stopPrank();
        uint64 disputeDeadline = IRoundSelection(address(rounds)).getRound(roundId).disputeDeadline;
        if (disputeDeadline >= block.timestamp) vm.warp(uint256(disputeDeadline) + 1);
        assertTrue(block.timestamp < before.challengeDeadline, "finalized before the old deadline");
        rounds.finalizeRound(roundId);
        ITrainingRounds.RoundState state = IRoundSelection(address(rounds)).getRound(roundId).state;
        assertTrue(state == ITrainingRounds.RoundState.Finalized, "finalized");
    }

    /// An answer whose optimistic statement is false: disputable until the dispute deadline, which delays
    /// finalization; the dispute slashes the aggregator, fails the round and returns the bond.
    function test_disputedStatementSlashesAndFailsRound() public {
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        uint256 sampled = _sampledChunk(roundId);
        uint256 chunk = (sampled + 1) % 4;
        vm.startPrank(WATCHER);
        token.approve(address(rounds), BOND);
        rounds.challenge(roundId, chunk);
        vm.stopPrank();
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline - 10); // answer late: dispute window outlasts it
        bytes memory honest = abi.encodePacked(_proof(roundId, sampled), bytes32(0));
        bytes memory lying = abi.encodePacked(_proof(roundId, chunk), bytes32(uint256(7)));
        vm.startPrank(agg);
        rounds.answerChallenge(roundId, sampled, honest);
        rounds.answerChallenge(roundId, chunk, lying);
        vm.stopPrank();
        uint64 disputeDeadline = IRoundSelection(address(rounds)).getRound(roundId).disputeDeadline;
        assertEq(disputeDeadline, block.timestamp + DISPUTE_WINDOW, "dispute window: the task's, not the answer window");
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.DeadlineNotReached.selector, disputeDeadline));
        rounds.finalizeRound(roundId);
        vm.expectRevert(ITrainingRounds.StatementCorrect.selector);
        rounds.disputeStatement(roundId, sampled, abi.encodePacked(bytes32(0)), "");
        vm.expectRevert(ITrainingRounds.InvalidEvidence.selector);
        rounds.disputeStatement(roundId, sampled, abi.encodePacked(bytes32(uint256(7))), "");
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NoPendingChallenge.selector, (chunk + 1) % 4));
        rounds.disputeStatement(roundId, (chunk + 1) % 4, abi.encodePacked(bytes32(uint256(7))), "");
        uint256 before = registry.slashableStake(agg);
        uint256 reporterBefore = token.balanceOf(t1);
        _commitAndReveal(
            t1,
            abi.encodeCall(ITrainingRounds.disputeStatement, (roundId, chunk, abi.encodePacked(bytes32(uint256(7))), ""))
        );
        assertEq(registry.slashableStake(agg), before / 2, "50% slashed");
        assertEq(token.balanceOf(t1) - reporterBefore, (before / 2) / 10, "reporter share");
        assertEq(uint8(IRoundSelection(address(rounds)).getRound(roundId).state), uint8(ITrainingRounds.RoundState.Failed), "failed");
        assertEq(
            uint8(IRoundSelection(address(rounds)).getChallenge(roundId, chunk).status),
            uint8(ITrainingRounds.ChallengeStatus.Failed),
            "challenge failed"
        );
        assertEq(rounds.claimable(WATCHER), BOND, "bond back to the challenger");
        assertEq(rounds.claimable(agg), 0, "aggregator unpaid");
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NothingToSettle.selector, chunk));
        rounds.settleBond(roundId, chunk);
    }

    function test_disputeAfterDeadlineReverts() public {
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        uint256 sampled = _sampledChunk(roundId);
        bytes memory lying = abi.encodePacked(_proof(roundId, sampled), bytes32(uint256(1)));
        vm.prank(agg);
        rounds.answerChallenge(roundId, sampled, lying);
        uint64 disputeDeadline = IRoundSelection(address(rounds)).getRound(roundId).disputeDeadline;
        vm.warp(disputeDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.DeadlinePassed.selector, disputeDeadline));
        rounds.disputeStatement(roundId, sampled, abi.encodePacked(bytes32(uint256(1))), "");
        _warpPastJudgement(roundId);
        rounds.finalizeRound(roundId);
        assertEq(uint8(IRoundSelection(address(rounds)).getRound(roundId).state), uint8(ITrainingRounds.RoundState.Finalized), "finalized");
    }

    /// Fuzz: a bonded challenge's money ends in exactly one place whatever happens to the answer
    /// (disputed or not, settled or not), and the contract stays solvent.
    function testFuzz_bondSettlesExactlyOnce(bool lie, bool dispute, uint256 claim) public {
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        uint256 sampled = _sampledChunk(roundId);
        uint256 chunk = (sampled + 1) % 4;
        vm.startPrank(WATCHER);
        token.approve(address(rounds), BOND);
        rounds.challenge(roundId, chunk);
        vm.stopPrank();
        claim = bound(claim, 0, 2 ** 255);
        vm.startPrank(agg);
        rounds.answerChallenge(roundId, sampled, _proof(roundId, sampled));
        rounds.answerChallenge(roundId, chunk, abi.encodePacked(_proof(roundId, chunk), bytes32(lie ? claim + 1 : 0)));
        vm.stopPrank();
        bytes memory statement = abi.encodePacked(bytes32(lie ? claim + 1 : 0));
        if (dispute && lie) {
            rounds.disputeStatement(roundId, chunk, statement, "");
        } else {
            if (dispute) {
                vm.expectRevert(ITrainingRounds.StatementCorrect.selector);
                rounds.disputeStatement(roundId, chunk, statement, "");
            }
            _warpPastJudgement(roundId);
            rounds.finalizeRound(roundId);
            rounds.settleBond(roundId, chunk);
        }
        bool failed = dispute && lie;
        ITrainingRounds.RoundState expected = failed
            ? ITrainingRounds.RoundState.Failed
            : ITrainingRounds.RoundState.Finalized;
        assertEq(uint8(IRoundSelection(address(rounds)).getRound(roundId).state), uint8(expected), "state");
        assertEq(rounds.claimable(WATCHER), failed ? BOND : 0, "challenger");
        assertEq(rounds.claimable(agg), failed ? 0 : BOND + 100e18, "aggregator");
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NothingToSettle.selector, chunk));
        rounds.settleBond(roundId, chunk);
        (, uint256 unclaimed, uint256 bonds) = rounds.totals();
        assertEq(bonds, 0, "no bond left held");
        assertEq(token.balanceOf(address(rounds)), unclaimed + _pools(), "solvent");
    }

    function test_unansweredChallengeSlashesAndRewardsChallenger() public {
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        uint256 sampled = _sampledChunk(roundId);
        uint256 chunk = (sampled + 1) % 4;
        vm.prank(WATCHER);
        token.approve(address(rounds), BOND);
        _commitAndReveal(WATCHER, abi.encodeCall(ITrainingRounds.challenge, (roundId, chunk)));
        vm.startPrank(WATCHER);
        vm.expectRevert();
        rounds.resolveUnansweredChallenge(roundId, chunk); // too early
        vm.warp(IRoundSelection(address(rounds)).getChallenge(roundId, chunk).answerDeadline + 1); // spaced after the sampled one's
        uint256 before = token.balanceOf(WATCHER);
        rounds.resolveUnansweredChallenge(roundId, chunk);
        vm.stopPrank();
        // Reporter: 10% of the 500e18 slashed; bond credited back.
        assertEq(token.balanceOf(WATCHER) - before, 50e18, "reporter share");
        assertEq(rounds.claimable(WATCHER), BOND, "bond back");
        // The sampled challenge's (zero) bond is reclaimable and the round cannot finalize.
        rounds.reclaimBond(roundId, sampled);
        vm.expectRevert(
            abi.encodeWithSelector(ITrainingRounds.WrongState.selector, roundId, ITrainingRounds.RoundState.Failed)
        );
        rounds.finalizeRound(roundId);
    }

    function test_finalizeBlockedByPendingChallenge() public {
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.PendingChallenges.selector, uint32(1)));
        rounds.finalizeRound(roundId);
    }
}
