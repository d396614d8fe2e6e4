// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IAggregationVerifier} from "./interfaces/IAggregationVerifier.sol";
import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {TrainingRounds} from "./TrainingRounds.sol";
import {Fixture} from "./test/Fixture.sol";
import {RoundDriver} from "./test/RoundDriver.sol";
import {TestBase} from "./test/Vm.sol";
import {IRoundSelection} from "./interfaces/IRoundSelection.sol";

/// @dev Chunks of the fixture task's model (every test round can be challenged at 0..3).
uint32 constant NUM_CHUNKS = 4;

/// @notice Shared round set-up: four staked trainers (one also the only aggregator candidate).
abstract contract RoundsFixture is Fixture {
    uint256 internal constant AGG_KEY = 0xA66;
    uint256 internal constant T1_KEY = 0x7001;
    uint256 internal constant T2_KEY = 0x7002;
    uint256 internal constant T3_KEY = 0x7003;
    address internal agg;
    address internal t1;
    address internal t2;
    address internal t3;
    address internal constant WATCHER = address(0x3A7C);
    uint256 internal taskId;
    /// @dev Same model and schedule as `taskId`, but its rounds are not proven (a robust rule).
    uint256 internal unprovenTaskId;
    /// @dev The fixture's proven task (`taskId` until a test points it elsewhere).
    uint256 internal provenTaskId;
    uint256 internal constant REWARD = 1_000e18;

    function _setUpRounds() internal {
        _deploy();
        agg = vm.addr(AGG_KEY);
        t1 = vm.addr(T1_KEY);
        t2 = vm.addr(T2_KEY);
        t3 = vm.addr(T3_KEY);
        _fundAndStake(agg, 1_000e18);
        _fundAndStake(t1, 200e18);
        _fundAndStake(t2, 200e18);
        _fundAndStake(t3, 200e18);
        _fundAndStake(WATCHER, 200e18);
        token.transfer(WATCHER, 1_000e18);
        vm.prank(agg);
        selection.setAggregatorOptIn(true);
        taskId = rounds.createTask(_taskConfig(bytes32("model0"), NUM_CHUNKS, REWARD, 60, 60, 120, 0));
        ITrainingRounds.TaskConfig memory unproven = _taskConfig(bytes32("model0"), NUM_CHUNKS, REWARD, 60, 60, 120, 0);
        unproven.proven = false;
        unproven.ruleId = 1;
        unprovenTaskId = rounds.createTask(unproven);
        provenTaskId = taskId;
        token.approve(address(rounds), 20 * REWARD);
        rounds.fundTask(taskId, 10 * REWARD);
        rounds.fundTask(unprovenTaskId, 10 * REWARD);
        vm.roll(block.number + 1); // stakes are history before the first round opens
    }

    /// Locks and selects with a round-specific prevrandao; the aggregator (zero if the round closed).
    function _select(uint256 roundId) internal returns (address) {
        return RoundDriver.select(rounds, roundId, keccak256(abi.encode("mix", roundId)));
    }

    function _openAndCommit() internal returns (uint256 roundId) {
        roundId = rounds.openRound(taskId);
        vm.prank(t1);
        rounds.commitUpdate(roundId, bytes32("c1"), 100);
        vm.prank(t2);
        rounds.commitUpdate(roundId, bytes32("c2"), 300);
        vm.prank(t3);
        rounds.commitUpdate(roundId, bytes32("c3"), 600);
        vm.warp(block.timestamp + 61);
        _select(roundId);
    }

    function _weights(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory w) {
        w = new uint256[](3);
        w[0] = a;
        w[1] = b;
        w[2] = c;
    }

    function _post(uint256 roundId, uint256[] memory weights) internal {
        vm.prank(agg);
        rounds.postAggregate(roundId, bytes32("agg"), bytes32("model1"), weights);
        RoundDriver.draw(rounds, roundId, keccak256(abi.encode("samples", roundId)));
    }

    function _proof(uint256 roundId, uint256 chunk) internal view returns (bytes memory) {
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
        return abi.encode(keccak256(abi.encode(roundId, chunk, r.numChunks, r.weights, r.aggregateCommitment)));
    }

    function _sampledChunk(uint256 roundId) internal view returns (uint256) {
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
        for (uint256 i = 0; i < r.numChunks; ++i) {
            if (IRoundSelection(address(rounds)).getChallenge(roundId, i).status == ITrainingRounds.ChallengeStatus.Pending) return i;
        }
        revert("no sampled chunk");
    }

    /// @dev Both fixture tasks' pools.
    function _pools() internal view returns (uint256) {
        return IRoundSelection(address(rounds)).getTask(provenTaskId).rewardPool + IRoundSelection(address(rounds)).getTask(unprovenTaskId).rewardPool;
    }

    /// Sends `report` as `who` the front-running-proof way: commits hash(who, salt, report), then reveals it
    /// a block later (the only way a report pays its reporter).
    function _commitAndReveal(address who, bytes memory report) internal {
        bytes32 salt = keccak256(abi.encode(who, report));
        bytes32 commitHash = selection.reportCommitHash(who, salt, report); // before the prank: a call of its own
        vm.prank(who);
        selection.commitReport(commitHash);
        vm.roll(block.number + 1);
        vm.prank(who);
        selection.revealReport(salt, report);
    }

    function _sign(uint256 key, bytes32 digest) internal returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }
}

contract TrainingRoundsTest is RoundsFixture {
    function setUp() public {
        _setUpRounds();
    }

    function test_fullRoundPaysExactly() public {
        uint256 roundId = _openAndCommit();
        assertTrue(IRoundSelection(address(rounds)).getRound(roundId).aggregator == agg, "only candidate selected");
        _post(roundId, _weights(100, 300, 0)); // t3 rejected by robust aggregation
        uint256 chunk = _sampledChunk(roundId);
        bytes memory proof = _proof(roundId, chunk);
        vm.prank(agg);
        rounds.answerChallenge(roundId, chunk, proof);
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline + 1);
        rounds.finalizeRound(roundId);
        // 10% to the aggregator; 900 split 100:300 between t1 and t2; t3 earns nothing.
        assertEq(rounds.claimable(agg), 100e18, "aggregator");
        assertEq(rounds.claimable(t1), 225e18, "t1");
        assertEq(rounds.claimable(t2), 675e18, "t2");
        assertEq(rounds.claimable(t3), 0, "rejected trainer");
        assertTrue(IRoundSelection(address(rounds)).getTask(taskId).modelRef == IRoundSelection(address(rounds)).getRound(roundId).modelRef, "model advanced");
        assertTrue(IRoundSelection(address(rounds)).getRound(roundId).modelRef != bytes32("model1"), "derived, not the posted pointer");
        vm.prank(t1);
        rounds.claim();
        assertEq(token.balanceOf(t1), 225e18, "claimed");
        vm.prank(t1);
        vm.expectRevert(ITrainingRounds.NothingToClaim.selector);
        rounds.claim();
    }

    function test_dustReturnsToPool() public {
        taskId = unprovenTaskId;
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(1, 1, 1)); // 900e18 / 3 divides; use odd emission below
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline + 1);
        rounds.finalizeRound(roundId);
        (uint256 funded, uint256 unclaimed, ) = rounds.totals();
        assertEq(funded, unclaimed + _pools(), "exact");
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

    function test_missedAggregationSlashes() public {
        uint256 roundId = _openAndCommit();
        vm.expectRevert();
        rounds.reportMissedAggregation(roundId);
        vm.warp(block.timestamp + 61);
        vm.prank(WATCHER);
        rounds.reportMissedAggregation(roundId);
        assertEq(registry.slashableStake(agg), 500e18, "slashed");
        assertEq(uint8(IRoundSelection(address(rounds)).getRound(roundId).state), uint8(ITrainingRounds.RoundState.Failed), "failed");
        vm.prank(agg);
        vm.expectRevert(
            abi.encodeWithSelector(ITrainingRounds.WrongState.selector, roundId, ITrainingRounds.RoundState.Failed)
        );
        rounds.postAggregate(roundId, bytes32("agg"), bytes32("m"), _weights(1, 1, 1));
    }

    function test_aggregatorEquivocation() public {
        uint256 roundId = _openAndCommit();
        bytes32[2] memory a = [bytes32("aggA"), bytes32("m")];
        bytes32[2] memory b = [bytes32("aggB"), bytes32("m")];
        bytes memory sa = _sign(AGG_KEY, rounds.aggregateDigest(roundId, a[0], a[1]));
        bytes memory sb = _sign(AGG_KEY, rounds.aggregateDigest(roundId, b[0], b[1]));
        vm.expectRevert(ITrainingRounds.InvalidEvidence.selector);
        rounds.reportEquivocation(roundId, true, a, sa, a, sa);
        vm.prank(WATCHER);
        rounds.reportEquivocation(roundId, true, a, sa, b, sb);
        assertEq(registry.slashableStake(agg), 500e18, "slashed");
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.AlreadySlashed.selector, agg));
        rounds.reportEquivocation(roundId, true, a, sa, b, sb);
    }

    function test_trainerEquivocation() public {
        uint256 roundId = rounds.openRound(taskId);
        bytes32[2] memory a = [bytes32("c1"), bytes32(uint256(100))];
        bytes32[2] memory b = [bytes32("c1b"), bytes32(uint256(100))];
        bytes memory sa = _sign(T1_KEY, rounds.commitmentDigest(roundId, a[0], 100));
        bytes memory sb = _sign(T1_KEY, rounds.commitmentDigest(roundId, b[0], 100));
        bytes memory wrong = _sign(T2_KEY, rounds.commitmentDigest(roundId, b[0], 100));
        vm.expectRevert(ITrainingRounds.InvalidEvidence.selector);
        rounds.reportEquivocation(roundId, false, a, sa, b, wrong);
        rounds.reportEquivocation(roundId, false, a, sa, b, sb);
        assertEq(registry.slashableStake(t1), 180e18, "10% slashed");
    }

    function test_commitRules() public {
        uint256 roundId = rounds.openRound(taskId);
        vm.prank(address(0xDEAD));
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotActiveOperator.selector, address(0xDEAD)));
        rounds.commitUpdate(roundId, bytes32("x"), 1);
        vm.prank(t1);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.InvalidSampleCount.selector, 10_001, 10_000));
        rounds.commitUpdate(roundId, bytes32("x"), 10_001);
        vm.prank(t1);
        rounds.commitUpdate(roundId, bytes32("x"), 10);
        vm.prank(t1);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.AlreadyCommitted.selector, t1));
        rounds.commitUpdate(roundId, bytes32("y"), 10);
        vm.expectRevert();
        selection.lockSelection(roundId); // commit window still open
        vm.warp(block.timestamp + 61);
        vm.prank(t2);
        vm.expectRevert();
        rounds.commitUpdate(roundId, bytes32("late"), 10);
    }

    function test_postAggregateRules() public {
        uint256 roundId = _openAndCommit();
        vm.prank(t1);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotAggregator.selector, t1));
        rounds.postAggregate(roundId, bytes32("a"), bytes32("m"), _weights(1, 1, 1));
        vm.startPrank(agg);
        vm.expectRevert(ITrainingRounds.InvalidWeights.selector);
        rounds.postAggregate(roundId, bytes32("a"), bytes32("m"), _weights(101, 1, 1));
        vm.stopPrank();
    }

    function test_roundScheduling() public {
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.UnknownTask.selector, 99));
        rounds.openRound(99);
        uint256 roundId = rounds.openRound(taskId);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.RoundStillActive.selector, roundId));
        rounds.openRound(taskId);
        vm.expectRevert(ITrainingRounds.InvalidSchedule.selector);
        rounds.createTask(_taskConfig(bytes32("m"), 1, 1, 4, 60, 60, 0));
        vm.expectRevert(ITrainingRounds.InvalidSchedule.selector);
        rounds.createTask(_taskConfig(bytes32("m"), 1, 1, 6 hours, 6 hours, 60, 0));
        vm.expectRevert(ITrainingRounds.ZeroAmount.selector);
        rounds.createTask(_taskConfig(bytes32("m"), 1, 0, 60, 60, 60, 0));
        vm.expectRevert(ITrainingRounds.InvalidChunkCount.selector);
        rounds.createTask(_taskConfig(bytes32("m"), 0, 1, 60, 60, 60, 0));
        uint256 empty = rounds.createTask(_taskConfig(bytes32("m"), 1, 1, 60, 60, 60, 1 hours));
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.EmptyRewardPool.selector, empty));
        rounds.openRound(empty);
    }

    function test_emptyRoundReturnsEmission() public {
        uint256 roundId = rounds.openRound(taskId);
        vm.warp(block.timestamp + 61);
        assertTrue(_select(roundId) == address(0), "no aggregator");
        assertEq(IRoundSelection(address(rounds)).getTask(taskId).rewardPool, 10 * REWARD, "emission returned");
    }

    function test_noCandidatesBootstrapsFromTrainers() public {
        vm.prank(agg);
        selection.setAggregatorOptIn(false);
        uint256 roundId = rounds.openRound(taskId);
        vm.prank(t1);
        rounds.commitUpdate(roundId, bytes32("c"), 1);
        vm.warp(block.timestamp + 61);
        assertTrue(_select(roundId) == t1, "the only trainer aggregates");
        assertEq(uint8(IRoundSelection(address(rounds)).getRound(roundId).state), uint8(ITrainingRounds.RoundState.Aggregating), "state");
    }

    function test_stakeWeightedSelection() public {
        vm.prank(t1);
        selection.setAggregatorOptIn(true);
        vm.prank(t1);
        selection.setAggregatorOptIn(true); // idempotent
        taskId = unprovenTaskId; // no sampled challenge to answer in each round
        token.approve(address(rounds), 40 * REWARD);
        rounds.fundTask(taskId, 40 * REWARD);
        uint256 aggWins;
        for (uint256 i = 0; i < 40; ++i) {
            uint256 roundId = rounds.openRound(taskId);
            vm.prank(t2);
            rounds.commitUpdate(roundId, bytes32(i), 1);
            vm.warp(block.timestamp + 61);
            if (RoundDriver.select(rounds, roundId, keccak256(abi.encode(i))) == agg) ++aggWins;
            address chosen = IRoundSelection(address(rounds)).getRound(roundId).aggregator;
            uint256[] memory w = _oneWeight();
            vm.prank(chosen);
            rounds.postAggregate(roundId, bytes32("a"), bytes32("m"), w);
            vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline + 1);
            rounds.finalizeRound(roundId);
        }
        // agg has 1000 of 1200 stake: expect ~33 of 40; both must win sometimes.
        assertTrue(aggWins > 24 && aggWins < 40, "stake-weighted");
    }

    function _oneWeight() internal pure returns (uint256[] memory w) {
        w = new uint256[](1);
        w[0] = 1;
    }

    function test_pauseAndAdmin() public {
        rounds.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        rounds.openRound(taskId);
        rounds.unpause();
        vm.expectRevert(ITrainingRounds.ParamsOutOfBounds.selector);
        ITrainingRounds.Params memory p = _defaultParams();
        p.maxTrainersPerRound = 17;
        rounds.queueParams(p);
        p = _defaultParams();
        p.challengeBond = uint256(type(uint96).max) + 1; // bonds are held in 96 bits
        vm.expectRevert(ITrainingRounds.ParamsOutOfBounds.selector);
        rounds.queueParams(p);
        vm.expectRevert(ITrainingRounds.ZeroAddress.selector);
        rounds.queueVerifier(IAggregationVerifier(address(0)));
        rounds.queueVerifier(IAggregationVerifier(address(0x1234)));
        assertTrue(address(rounds.verifier()) == address(verifier), "not yet");
        p.challengeBond = type(uint96).max;
        p.maxTrainersPerRound = 2;
        rounds.queueParams(p);
        assertEq(rounds.params().maxTrainersPerRound, 16, "not yet");
        vm.warp(block.timestamp + rounds.changeDelay());
        assertTrue(address(rounds.verifier()) == address(0x1234), "verifier replaced");
        assertEq(rounds.params().maxTrainersPerRound, 2, "params");
    }

    function test_roundFullAtCap() public {
        ITrainingRounds.Params memory p = _defaultParams();
        p.maxTrainersPerRound = 2;
        rounds.queueParams(p);
        vm.warp(block.timestamp + rounds.changeDelay());
        uint256 roundId = rounds.openRound(taskId);
        vm.prank(t1);
        rounds.commitUpdate(roundId, bytes32("1"), 1);
        vm.prank(t2);
        rounds.commitUpdate(roundId, bytes32("2"), 1);
        vm.prank(t3);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.RoundFull.selector, 2));
        rounds.commitUpdate(roundId, bytes32("3"), 1);
    }

    function test_revertBranches() public {
        vm.expectRevert(ITrainingRounds.ZeroAddress.selector);
        new TrainingRounds(token, registry, IAggregationVerifier(address(0)), address(this), _defaultParams());
        vm.expectRevert(ITrainingRounds.ZeroAmount.selector);
        rounds.fundTask(taskId, 0);
        uint256 slow = rounds.createTask(_taskConfig(bytes32("s"), 1, 1, 60, 60, 60, 1 hours));
        token.approve(address(rounds), 10);
        rounds.fundTask(slow, 10);
        uint256 first = rounds.openRound(slow);
        vm.prank(t1);
        rounds.commitUpdate(first, bytes32("x"), 1);
        vm.warp(block.timestamp + 61);
        _select(first);
        vm.warp(block.timestamp + 61);
        rounds.reportMissedAggregation(first);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.RoundNotDue.selector, uint64(1 hours + 1)));
        rounds.openRound(slow);

        uint256 roundId = _openAndCommit();
        uint64 aggregateDeadline = IRoundSelection(address(rounds)).getRound(roundId).aggregateDeadline;
        vm.warp(aggregateDeadline + 1);
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.DeadlinePassed.selector, aggregateDeadline));
        rounds.postAggregate(roundId, bytes32("a"), bytes32("m"), _weights(1, 1, 1));
    }

    function test_challengeRevertBranches() public {
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        uint256 sampled = _sampledChunk(roundId);
        uint256 free = (sampled + 1) % 4;
        vm.prank(address(0xDEAD));
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotActiveOperator.selector, address(0xDEAD)));
        rounds.challenge(roundId, free);
        vm.prank(t1);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotAggregator.selector, t1));
        rounds.answerChallenge(roundId, sampled, "");
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NoPendingChallenge.selector, free));
        rounds.answerChallenge(roundId, free, "");
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NoPendingChallenge.selector, free));
        rounds.resolveUnansweredChallenge(roundId, free);
        vm.expectRevert(
            abi.encodeWithSelector(ITrainingRounds.WrongState.selector, roundId, ITrainingRounds.RoundState.Challenging)
        );
        rounds.reclaimBond(roundId, sampled);
        vm.expectRevert();
        rounds.finalizeRound(roundId); // challenge window still open
        bytes memory proof = _proof(roundId, sampled);
        vm.warp(block.timestamp + 601);
        vm.prank(agg);
        vm.expectRevert();
        rounds.answerChallenge(roundId, sampled, proof); // answer deadline passed
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline + 1);
        vm.prank(WATCHER);
        vm.expectRevert();
        rounds.challenge(roundId, free); // challenge window closed
        vm.warp(IRoundSelection(address(rounds)).getChallenge(roundId, sampled).answerDeadline + 1);
        rounds.resolveUnansweredChallenge(roundId, sampled);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NoPendingChallenge.selector, sampled));
        rounds.reclaimBond(roundId, sampled);
    }

    function test_optInRules() public {
        vm.prank(address(0xDEAD));
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotActiveOperator.selector, address(0xDEAD)));
        selection.setAggregatorOptIn(true);
        vm.prank(t1);
        selection.setAggregatorOptIn(false); // not a candidate: no-op
        vm.prank(t1);
        selection.setAggregatorOptIn(true);
        vm.prank(agg);
        selection.setAggregatorOptIn(false);
        address[] memory candidates = selection.aggregatorCandidates();
        assertEq(candidates.length, 1, "one left");
        assertTrue(candidates[0] == t1, "t1 moved into agg's slot");
        (uint256 tasks, uint256 roundsOpened) = selection.counts();
        assertEq(tasks, 2, "tasks");
        assertEq(roundsOpened, 0, "rounds");
    }

    /// Fuzz: any weights and emission split exactly (paid + returned == emission).
    function testFuzz_rewardSplitIsExact(uint256 w1, uint256 w2, uint256 w3, uint256 reward) public {
        reward = bound(reward, 1, 1e24);
        ITrainingRounds.TaskConfig memory config = _taskConfig(bytes32("f"), NUM_CHUNKS, reward, 60, 60, 120, 0);
        config.proven = false;
        uint256 t = rounds.createTask(config);
        token.approve(address(rounds), reward);
        rounds.fundTask(t, reward);
        taskId = t;
        uint256 roundId = _openAndCommit();
        assertTrue(!IRoundSelection(address(rounds)).getRound(roundId).proven, "unproven task");
        _post(roundId, _weights(bound(w1, 0, 100), bound(w2, 0, 300), bound(w3, 0, 600)));
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline + 1);
        rounds.finalizeRound(roundId);
        uint256 paid = rounds.claimable(agg) + rounds.claimable(t1) + rounds.claimable(t2) + rounds.claimable(t3);
        assertEq(paid + IRoundSelection(address(rounds)).getTask(t).rewardPool, reward, "exact split");
    }
}

/// @notice Random round actions for the reward-accounting invariant.
contract RoundsHandler is TestBase {
    TrainingRounds internal immutable rounds;
    address[3] internal trainers;
    uint256 internal immutable taskId;
    uint256 public claimed;
    uint256 internal current;
    /// @notice Bonds the challenger paid in (its credits stay unclaimed: it never claims).
    uint256 public bondsIn;
    address internal immutable challenger;
    uint256[] internal bondedRounds;
    mapping(uint256 roundId => mapping(uint256 chunk => bool)) internal lied;

    constructor(TrainingRounds rounds_, address[3] memory trainers_, uint256 taskId_, address challenger_) {
        rounds = rounds_;
        trainers = trainers_;
        taskId = taskId_;
        challenger = challenger_;
    }

    /// A bonded challenge of a proven round's other chunk.
    function challenge(uint256 chunk) external {
        if (current == 0) return;
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(current);
        chunk %= r.numChunks;
        if (r.state != ITrainingRounds.RoundState.Challenging || !r.proven) return;
        if (block.timestamp > r.challengeDeadline) return;
        if (IRoundSelection(address(rounds)).getChallenge(current, chunk).status != ITrainingRounds.ChallengeStatus.None) return;
        vm.prank(challenger);
        rounds.challenge(current, chunk);
        bondsIn += rounds.params().challengeBond;
        bondedRounds.push(current);
    }

    /// The aggregator answers a pending chunk in time, with a true or a false (disputable) statement.
    function answer(uint256 chunk, bool lie) external {
        if (current == 0) return;
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(current);
        chunk %= r.numChunks;
        ITrainingRounds.Challenge memory ch = IRoundSelection(address(rounds)).getChallenge(current, chunk);
        if (r.state != ITrainingRounds.RoundState.Challenging) return;
        if (ch.status != ITrainingRounds.ChallengeStatus.Pending || block.timestamp > ch.answerDeadline) return;
        bytes32 binding = keccak256(abi.encode(current, chunk, r.numChunks, r.weights, r.aggregateCommitment));
        lied[current][chunk] = lie;
        vm.prank(r.aggregator);
        rounds.answerChallenge(current, chunk, abi.encodePacked(binding, bytes32(lie ? uint256(1) : 0)));
    }

    /// A watcher disputes a false statement within the dispute window.
    function dispute(uint256 chunk) external {
        if (current == 0) return;
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(current);
        chunk %= r.numChunks;
        if (r.state != ITrainingRounds.RoundState.Challenging || !lied[current][chunk]) return;
        if (IRoundSelection(address(rounds)).getChallenge(current, chunk).status != ITrainingRounds.ChallengeStatus.Answered) return;
        if (block.timestamp > r.disputeDeadline) return;
        rounds.disputeStatement(current, chunk, abi.encodePacked(bytes32(uint256(1))), "");
    }

    /// Pays out or returns the bonds of closed rounds.
    function settle(uint256 index) external {
        if (bondedRounds.length == 0) return;
        uint256 roundId = bondedRounds[index % bondedRounds.length];
        ITrainingRounds.RoundState state = IRoundSelection(address(rounds)).getRound(roundId).state;
        if (state != ITrainingRounds.RoundState.Finalized && state != ITrainingRounds.RoundState.Failed) return;
        for (uint256 chunk = 0; chunk < NUM_CHUNKS; ++chunk) {
            ITrainingRounds.Challenge memory ch = IRoundSelection(address(rounds)).getChallenge(roundId, chunk);
            if (ch.bond == 0) continue;
            if (ch.status == ITrainingRounds.ChallengeStatus.Answered) rounds.settleBond(roundId, chunk);
            else if (ch.status == ITrainingRounds.ChallengeStatus.Pending && state == ITrainingRounds.RoundState.Failed) {
                rounds.reclaimBond(roundId, chunk);
            }
        }
    }

    function open() external {
        if (IRoundSelection(address(rounds)).getTask(taskId).activeRound != 0 || IRoundSelection(address(rounds)).getTask(taskId).rewardPool == 0) return;
        current = rounds.openRound(taskId);
    }

    function commit(uint256 who, uint256 samples) external {
        if (current == 0 || IRoundSelection(address(rounds)).getRound(current).state != ITrainingRounds.RoundState.Open) return;
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(current);
        if (block.timestamp > r.commitDeadline) return;
        address trainer = trainers[who % 3];
        for (uint256 i = 0; i < r.trainers.length; ++i) if (r.trainers[i] == trainer) return;
        vm.prank(trainer);
        rounds.commitUpdate(current, keccak256(abi.encode(current, trainer)), 1 + (samples % 10_000));
    }

    function advance(uint256 secondsForward) external {
        vm.warp(block.timestamp + 1 + (secondsForward % 200));
    }

    function progress(uint256 seed) external {
        if (current == 0) return;
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(current);
        if (r.state == ITrainingRounds.RoundState.Open && block.timestamp > r.commitDeadline) {
            RoundDriver.select(rounds, current, bytes32(seed));
        } else if (r.state == ITrainingRounds.RoundState.Aggregating && block.timestamp <= r.aggregateDeadline) {
            uint256[] memory w = new uint256[](r.trainers.length);
            for (uint256 i = 0; i < w.length; ++i) w[i] = (seed >> i) % (r.sampleCounts[i] + 1);
            vm.prank(r.aggregator);
            rounds.postAggregate(current, bytes32(seed), bytes32(seed), w);
        } else if (r.state == ITrainingRounds.RoundState.Aggregating) {
            rounds.reportMissedAggregation(current);
        } else if (r.state == ITrainingRounds.RoundState.Challenging) {
            RoundDriver.draw(rounds, current, bytes32(seed));
            for (uint256 chunk = 0; chunk < NUM_CHUNKS; ++chunk) {
                ITrainingRounds.Challenge memory ch = IRoundSelection(address(rounds)).getChallenge(current, chunk);
                if (ch.status == ITrainingRounds.ChallengeStatus.Pending && block.timestamp > ch.answerDeadline) {
                    rounds.resolveUnansweredChallenge(current, chunk);
                    return;
                }
            }
            if (
                block.timestamp > r.challengeDeadline &&
                block.timestamp > r.disputeDeadline &&
                r.pendingChallenges == 0
            ) rounds.finalizeRound(current);
        }
    }

    function claim(uint256 who) external {
        address account = who % 4 == 3 ? address(this) : trainers[who % 3];
        uint256 amount = rounds.claimable(account);
        if (amount == 0) return;
        vm.prank(account);
        rounds.claim();
        claimed += amount;
    }
}

contract TrainingRoundsInvariantTest is RoundsFixture {
    RoundsHandler internal handler;

    function setUp() public {
        _setUpRounds();
        handler = new RoundsHandler(rounds, [t1, t2, t3], taskId, WATCHER);
        vm.prank(WATCHER);
        token.approve(address(rounds), type(uint256).max);
        vm.prank(agg);
        selection.setAggregatorOptIn(false);
        vm.prank(t1);
        selection.setAggregatorOptIn(true);
        vm.prank(t2);
        selection.setAggregatorOptIn(true);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// Funding and bonds are conserved exactly: claimed + unclaimed + pools + reserved emissions + held bonds ==
    /// funded + bonds paid in, across random proven and unproven rounds, bonded challenges, true and false
    /// answers, disputes, unanswered challenges and bond settlement.
    function invariant_rewardsAreConserved() public view {
        (uint256 funded, uint256 unclaimed, uint256 bonds) = rounds.totals();
        ITrainingRounds.Task memory task = IRoundSelection(address(rounds)).getTask(taskId);
        uint256 reserved = task.activeRound == 0 ? 0 : IRoundSelection(address(rounds)).getRound(task.activeRound).emission;
        uint256 claimedByTrainers = token.balanceOf(t1) + token.balanceOf(t2) + token.balanceOf(t3);
        // Bonds paid in are either held, or credited (to the aggregator, a trainer, or back to the challenger).
        assertEq(
            funded + handler.bondsIn(),
            claimedByTrainers + unclaimed + _pools() + reserved + bonds,
            "conservation"
        );
        assertTrue(claimedByTrainers + unclaimed <= funded + handler.bondsIn(), "never pays more than paid in");
        assertEq(token.balanceOf(address(rounds)), unclaimed + bonds + _pools() + reserved, "solvent");
    }
}
