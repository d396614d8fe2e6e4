// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAggregationVerifier} from "./interfaces/IAggregationVerifier.sol";
import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {NUM_CHUNKS, RoundsFixture} from "./test/RoundsFixture.sol";
import {IRoundSelection} from "./interfaces/IRoundSelection.sol";

/// @notice Issue #18's attacks on the challenge game, rewards and owner powers, each written as the attacker
/// would (each was first shown working against the code before the fix) and now shown to fail.
contract RoundGameTest is RoundsFixture {
    function setUp() public {
        _setUpRounds();
    }

    /// The aggregator cannot declare its round unproven: a proven task's round is sampled and challengeable,
    /// and a wrong aggregate there is slashed; only an unproven task's round cannot be challenged.
    function test_attack_unprovenEscapeFails() public {
        uint256 roundId = _openAndCommit();
        assertTrue(IRoundSelection(address(rounds)).getRound(roundId).proven, "the task's rule");
        _post(roundId, _weights(100, 300, 600));
        assertEq(IRoundSelection(address(rounds)).getRound(roundId).pendingChallenges, 1, "sampled at once");
        vm.startPrank(WATCHER);
        token.approve(address(rounds), BOND);
        rounds.challenge(roundId, (_sampledChunk(roundId) + 1) % NUM_CHUNKS);
        vm.stopPrank();

        taskId = unprovenTaskId;
        roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        vm.prank(WATCHER);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.UnprovenRound.selector, roundId));
        rounds.challenge(roundId, 0);
    }

    /// Without a link verifier (the test verifier has none), a proven task's round holds at most the flat fan-in
    /// (8 trainers), so it can always be proven (above 8: chained proofs, contracts/RoundLinks.t.sol).
    function test_provenRoundCappedAtFanIn() public {
        uint256 roundId = rounds.openRound(taskId);
        uint256 unproven = rounds.openRound(unprovenTaskId);
        for (uint256 i = 0; i < 9; ++i) {
            address trainer = address(uint160(0xB000 + i));
            _fundAndStake(trainer, 100e18);
            vm.prank(trainer);
            rounds.commitUpdate(unproven, bytes32(i), 1);
            if (i == 8) vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.RoundFull.selector, 8));
            vm.prank(trainer);
            rounds.commitUpdate(roundId, bytes32(i), 1);
        }
        assertEq(IRoundSelection(address(rounds)).getRound(roundId).trainers.length, 8, "proven: fan-in");
        assertEq(IRoundSelection(address(rounds)).getRound(unproven).trainers.length, 9, "unproven: maxTrainersPerRound");
    }

    /// An aggregator that also trained equivocates in both roles. Whatever order the reports come in, and
    /// even when it reports itself first, it pays both rates and no reporter share comes back to it.
    function testFuzz_attack_equivocationReportOrderFails(bool selfFirst) public {
        uint256 roundId = rounds.openRound(taskId);
        bytes32[2] memory ca = [bytes32("cA"), bytes32(uint256(1))];
        bytes32[2] memory cb = [bytes32("cB"), bytes32(uint256(1))];
        bytes32[2] memory aa = [bytes32("aggA"), bytes32("m")];
        bytes32[2] memory ab = [bytes32("aggB"), bytes32("m")];
        bytes memory sca = _sign(AGG_KEY, rounds.commitmentDigest(roundId, ca[0], 1));
        bytes memory scb = _sign(AGG_KEY, rounds.commitmentDigest(roundId, cb[0], 1));
        bytes memory saa = _sign(AGG_KEY, rounds.aggregateDigest(roundId, aa[0], aa[1]));
        bytes memory sab = _sign(AGG_KEY, rounds.aggregateDigest(roundId, ab[0], ab[1]));
        uint256 before = registry.slashableStake(agg);
        if (selfFirst) {
            vm.prank(agg);
            rounds.reportEquivocation(roundId, false, ca, sca, cb, scb);
            vm.prank(WATCHER);
            rounds.reportEquivocation(roundId, true, aa, saa, ab, sab);
        } else {
            vm.prank(WATCHER);
            rounds.reportEquivocation(roundId, true, aa, saa, ab, sab);
            vm.prank(agg);
            rounds.reportEquivocation(roundId, false, ca, sca, cb, scb);
        }
        uint256 lost = before - registry.slashableStake(agg) - token.balanceOf(agg);
        assertTrue(lost >= before / 2, "at least the aggregator rate");
        assertEq(token.balanceOf(agg), 0, "no rebate for reporting yourself");
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.AlreadySlashed.selector, agg));
        rounds.reportEquivocation(roundId, true, ab, sab, aa, saa);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.AlreadySlashed.selector, agg));
        rounds.reportEquivocation(roundId, false, cb, scb, ca, sca);
    }

    /// The aggregator reporting its own missed deadline gets no reporter share.
    function test_attack_selfReportRebateFails() public {
        uint256 roundId = _openAndCommit();
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).aggregateDeadline + 1);
        vm.prank(agg);
        rounds.reportMissedAggregation(roundId);
        assertEq(token.balanceOf(agg), 0, "no rebate");
        assertEq(registry.slashableStake(agg), 500e18, "slashed");
    }

    /// A withholder is not paid when the round fails before a post, and a rejected (weight 0) trainer is not
    /// paid when it fails after one; trainers with posted weight share at most half the slash.
    function test_attack_failedRoundPaysOnlyDelivered() public {
        uint256 roundId = _openAndCommit(); // t3 claims 600 samples and withholds
        _missUntilFailed(roundId, t3); // the aggregator and then its backup miss: nothing is ever posted
        assertEq(rounds.claimable(t1) + rounds.claimable(t2) + rounds.claimable(t3), 0, "nothing delivered");
        assertEq(IRoundSelection(address(rounds)).getTask(taskId).rewardPool, 10 * REWARD, "emission back in the pool");

        roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 0)); // t3 rejected as a poisoner
        uint256 chunk = _sampledChunk(roundId);
        uint256 before = registry.slashableStake(agg);
        vm.warp(IRoundSelection(address(rounds)).getChallenge(roundId, chunk).answerDeadline + 1);
        rounds.resolveUnansweredChallenge(roundId, chunk);
        uint256 slashed = before - registry.slashableStake(agg);
        assertEq(rounds.claimable(t3), 0, "rejected trainer unpaid");
        assertEq(rounds.claimable(t1), (slashed / 2) / 4, "t1: a quarter of the capped pool");
        assertEq(rounds.claimable(t2), (slashed / 2 / 4) * 3, "t2: three quarters");
    }

    /// An aggregator posts weight for its own sybil trainers and lets the round fail (it reports the fault
    /// itself through another sybil): the coalition loses more than it earns.
    function testFuzz_attack_sybilAggregatorLoses(uint256 reward) public {
        reward = bound(reward, 1e18, 1e26);
        uint256 t = rounds.createTask(_taskConfig(bytes32("big"), NUM_CHUNKS, reward, 60, 60, 120, 0));
        token.approve(address(rounds), reward);
        rounds.fundTask(t, reward);
        taskId = t;
        _setOptIn(agg, true); // candidates volunteer per task
        uint256 roundId = _openAndCommit(); // coalition: agg, t1, t2, t3 and WATCHER as reporter
        uint256 before = _coalitionWealth();
        _post(roundId, _weights(100, 300, 600));
        uint256 chunk = _sampledChunk(roundId);
        vm.warp(IRoundSelection(address(rounds)).getChallenge(roundId, chunk).answerDeadline + 1);
        vm.prank(WATCHER);
        rounds.resolveUnansweredChallenge(roundId, chunk);
        assertTrue(_coalitionWealth() < before, "cheating loses");
    }

    function _coalitionWealth() private view returns (uint256 sum) {
        address[5] memory members = [agg, t1, t2, t3, WATCHER];
        for (uint256 i = 0; i < 5; ++i) {
            sum +=
                registry.slashableStake(members[i]) +
                token.balanceOf(members[i]) +
                rounds.claimable(members[i]);
        }
    }

    /// A flood of bonded challenges: each gets its own full answer window, so the honest aggregator answers
    /// them one by one; every answered bond is forfeited to it.
    function test_attack_bondFloodCostsTheFlooder() public {
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        uint256 sampled = _sampledChunk(roundId);
        uint64 first = IRoundSelection(address(rounds)).getChallenge(roundId, sampled).answerDeadline;
        vm.startPrank(WATCHER);
        token.approve(address(rounds), 3 * BOND);
        for (uint256 k = 1; k < NUM_CHUNKS; ++k) rounds.challenge(roundId, (sampled + k) % NUM_CHUNKS);
        vm.stopPrank();
        for (uint256 k = 1; k < NUM_CHUNKS; ++k) {
            uint256 chunk = (sampled + k) % NUM_CHUNKS;
            assertEq(IRoundSelection(address(rounds)).getChallenge(roundId, chunk).answerDeadline, first + k * ANSWER_WINDOW, "spaced");
        }
        for (uint256 k = 0; k < NUM_CHUNKS; ++k) {
            uint256 chunk = (sampled + k) % NUM_CHUNKS;
            // The aggregator starts each proof only when the previous window has run out (worst case).
            vm.warp(IRoundSelection(address(rounds)).getChallenge(roundId, chunk).answerDeadline);
            bytes memory proof = _proof(roundId, chunk);
            vm.prank(agg);
            rounds.answerChallenge(roundId, chunk, proof);
        }
        vm.warp(block.timestamp + 1); // past the challenge deadline (the last answer came after it)
        rounds.finalizeRound(roundId);
        for (uint256 k = 1; k < NUM_CHUNKS; ++k) rounds.settleBond(roundId, (sampled + k) % NUM_CHUNKS);
        assertEq(rounds.claimable(WATCHER), 0, "flooder lost every bond");
        assertEq(rounds.claimable(agg), 100e18 + 3 * BOND, "reward and bonds");
        assertEq(registry.slashableStake(agg), 1_000e18, "honest aggregator never slashed");
    }

    /// When the round fails through another chunk, answered bonds go to the task pool, not back.
    function test_answeredBondGoesToPoolOnFailure() public {
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        uint256 sampled = _sampledChunk(roundId);
        uint256 other = (sampled + 1) % NUM_CHUNKS;
        vm.startPrank(WATCHER);
        token.approve(address(rounds), BOND);
        rounds.challenge(roundId, other);
        vm.stopPrank();
        bytes memory proof = _proof(roundId, other);
        vm.prank(agg);
        rounds.answerChallenge(roundId, other, proof);
        vm.warp(IRoundSelection(address(rounds)).getChallenge(roundId, sampled).answerDeadline + 1);
        rounds.resolveUnansweredChallenge(roundId, sampled);
        uint256 pool = IRoundSelection(address(rounds)).getTask(taskId).rewardPool;
        rounds.settleBond(roundId, other);
        assertEq(IRoundSelection(address(rounds)).getTask(taskId).rewardPool, pool + BOND, "to the pool");
        assertEq(rounds.claimable(WATCHER), 0, "not back to the challenger");
    }

    /// Griefing with answered challenges (issue #18): filling a round's challenge slots cannot hide a wrong
    /// chunk (the contested round's model does not advance), but it costs the griefer its bonds, each at least
    /// emission / 8 (15 here: more than the round emits), and costs no honest operator anything: nobody is
    /// slashed, and the trainers and the aggregator are paid as if the round finalized.
    function test_griefingWithAnsweredChallengesCostsOnlyTheGriefer() public {
        uint32 chunks = 32;
        uint256 t = rounds.createTask(_taskConfig(bytes32("wide"), chunks, REWARD, 60, 60, 120, 0));
        token.approve(address(rounds), REWARD);
        rounds.fundTask(t, REWARD);
        taskId = t;
        _setOptIn(agg, true); // candidates volunteer per task
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        uint256 sampled = _sampledChunk(roundId);
        assertEq(selection.challengeBondOf(roundId), REWARD / 8, "bond floor: emission / 8");
        token.transfer(WATCHER, 16 * BOND);
        uint256 griefer = token.balanceOf(WATCHER);
        vm.startPrank(WATCHER);
        token.approve(address(rounds), 16 * BOND);
        uint256 opened = 1;
        for (uint256 c = 0; opened < 16; ++c) {
            if (c == sampled) continue;
            rounds.challenge(roundId, c);
            ++opened;
        }
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.ChallengeLimit.selector, roundId));
        rounds.challenge(roundId, 31);
        vm.stopPrank();
        for (uint256 c = 0; c < chunks; ++c) {
            if (IRoundSelection(address(rounds)).getChallenge(roundId, c).status != ITrainingRounds.ChallengeStatus.Pending) continue;
            bytes memory proof = _proof(roundId, c);
            vm.prank(agg);
            rounds.answerChallenge(roundId, c, proof);
        }
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline + 1);
        rounds.finalizeRound(roundId);
        assertTrue(IRoundSelection(address(rounds)).getRound(roundId).state == ITrainingRounds.RoundState.Failed, "contested: not finalized");
        assertTrue(IRoundSelection(address(rounds)).getTask(taskId).modelRef == bytes32("wide"), "model not advanced");
        assertEq(registry.slashableStake(agg), 1_000e18, "aggregator not slashed");
        assertEq(rounds.claimable(agg), 100e18, "aggregator paid its share");
        assertEq(rounds.claimable(t1) + rounds.claimable(t2) + rounds.claimable(t3), 900e18, "trainers paid");
        for (uint256 c = 0; c < chunks; ++c) {
            if (IRoundSelection(address(rounds)).getChallenge(roundId, c).bond != 0) rounds.settleBond(roundId, c);
        }
        uint256 lost = griefer - token.balanceOf(WATCHER) - rounds.claimable(WATCHER);
        assertEq(lost, 15 * BOND, "every answered bond forfeited");
        assertTrue(lost > REWARD, "griefing cost more than the round emits");
    }

    /// The bond floor follows the emission: a round emitting 4,000 locks 500 per challenge, above the parameter.
    function test_bondFloorIsAnEighthOfTheEmission() public {
        uint256 reward = 4_000e18;
        uint256 t = rounds.createTask(_taskConfig(bytes32("rich"), NUM_CHUNKS, reward, 60, 60, 120, 0));
        token.approve(address(rounds), reward);
        rounds.fundTask(t, reward);
        taskId = t;
        _setOptIn(agg, true); // candidates volunteer per task
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        uint256 chunk = (_sampledChunk(roundId) + 1) % NUM_CHUNKS;
        assertEq(selection.challengeBondOf(roundId), 500e18, "emission / 8 above the 125 parameter");
        token.transfer(WATCHER, 500e18);
        uint256 before = token.balanceOf(WATCHER);
        vm.startPrank(WATCHER);
        token.approve(address(rounds), 500e18);
        rounds.challenge(roundId, chunk);
        vm.stopPrank();
        assertEq(before - token.balanceOf(WATCHER), 500e18, "locked the floor");
        assertEq(IRoundSelection(address(rounds)).getChallenge(roundId, chunk).bond, 500e18, "held");
    }

    /// Owner changes are bounded, wait longer than the unbonding delay, and apply only to rounds opened after
    /// they take effect: an operator can leave first, and a running round keeps its rules.
    function test_attack_ownerChangesAreDelayed() public {
        ITrainingRounds.Params memory p = _defaultParams();
        p.sampledChunks = 0;
        vm.expectRevert(ITrainingRounds.ParamsOutOfBounds.selector);
        rounds.queueParams(p);
        p = _defaultParams();
        p.aggregatorSlashBps = 10_000;
        vm.expectRevert(ITrainingRounds.ParamsOutOfBounds.selector);
        rounds.queueParams(p);
        p.aggregatorSlashBps = 5_000;
        p.challengeBond = 1;
        vm.prank(agg);
        vm.expectRevert();
        rounds.queueParams(p);

        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        rounds.queueParams(p);
        rounds.queueVerifier(IAggregationVerifier(address(0xBAD)));
        (, uint64 effective) = rounds.pendingParams();
        assertTrue(effective > block.timestamp + DELAY, "longer than the unbonding delay");
        // The operator that disagrees leaves before the change applies.
        vm.prank(t1);
        registry.requestUnstake(200e18);
        vm.warp(block.timestamp + DELAY);
        vm.prank(t1);
        registry.withdraw();
        assertTrue(block.timestamp < effective, "out before it applies");
        // The running round keeps its parameters and verifier.
        assertTrue(address(IRoundSelection(address(rounds)).getRound(roundId).verifier) == address(verifier), "verifier kept");
        assertEq(rounds.roundParams(roundId).challengeBond, BOND, "params kept");
        vm.warp(effective);
        assertEq(rounds.roundParams(roundId).challengeBond, BOND, "still the old version");
        assertEq(rounds.params().challengeBond, 1, "new rounds use the new version");
        assertTrue(address(rounds.verifier()) == address(0xBAD), "new rounds use the new verifier");
        assertTrue(address(IRoundSelection(address(rounds)).getRound(roundId).verifier) == address(verifier), "this one keeps its own");
        assertEq(registry.slashableStake(agg), 1_000e18, "owner reduced nobody's stake");
    }

    /// Pause stops new work but never the challenge game, whose clock keeps running.
    function test_attack_pauseCannotRunOutTheClock() public {
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        uint256 sampled = _sampledChunk(roundId);
        rounds.pause();
        bytes memory proof = _proof(roundId, sampled);
        vm.prank(agg);
        rounds.answerChallenge(roundId, sampled, proof);
        vm.startPrank(WATCHER);
        token.approve(address(rounds), BOND);
        rounds.challenge(roundId, (sampled + 1) % NUM_CHUNKS);
        vm.stopPrank();
        vm.warp(IRoundSelection(address(rounds)).getChallenge(roundId, (sampled + 1) % NUM_CHUNKS).answerDeadline + 1);
        rounds.resolveUnansweredChallenge(roundId, (sampled + 1) % NUM_CHUNKS);
        assertTrue(IRoundSelection(address(rounds)).getRound(roundId).state == ITrainingRounds.RoundState.Failed, "challenged while paused");
    }

    /// A round interval that would wrap `nextOpenTime` is refused.
    function test_attack_intervalTruncationRefused() public {
        vm.expectRevert(ITrainingRounds.InvalidSchedule.selector);
        rounds.createTask(_taskConfig(bytes32("m"), 1, 1, 60, 60, 60, type(uint64).max));
        rounds.createTask(_taskConfig(bytes32("m"), 1, 1, 60, 60, 60, 365 days));
    }

    /// An abandoned task is closed by its creator and every funder withdraws its pro-rata share.
    function test_closeTaskRefundsFundersProRata() public {
        uint256 t = rounds.createTask(_taskConfig(bytes32("c"), NUM_CHUNKS, 100e18, 60, 60, 120, 0));
        token.approve(address(rounds), 300e18);
        rounds.fundTask(t, 300e18);
        vm.startPrank(WATCHER);
        token.approve(address(rounds), 100e18);
        rounds.fundTask(t, 100e18);
        vm.stopPrank();
        uint256 roundId = rounds.openRound(t);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.RoundStillActive.selector, roundId));
        rounds.closeTask(t);
        vm.warp(block.timestamp + 61);
        _select(roundId); // nobody committed: closes, emission back
        vm.prank(WATCHER);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotTaskCreator.selector, WATCHER));
        rounds.closeTask(t);
        rounds.closeTask(t);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.ClosedTask.selector, t));
        rounds.openRound(t);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.ClosedTask.selector, t));
        rounds.fundTask(t, 1);
        vm.prank(WATCHER);
        rounds.withdrawTaskRefund(t);
        assertEq(rounds.claimable(WATCHER), 100e18, "a quarter");
        rounds.withdrawTaskRefund(t);
        assertEq(rounds.claimable(address(this)), 300e18, "three quarters");
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NothingToRefund.selector, t));
        rounds.withdrawTaskRefund(t);
        assertEq(IRoundSelection(address(rounds)).getTask(t).rewardPool, 0, "pool emptied");
    }

    /// Refund edge cases: only a closed task refunds, a task closes once, a funder's share is paid once.
    function test_refundRules() public {
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.TaskNotClosed.selector, taskId));
        rounds.withdrawTaskRefund(taskId);
        assertEq(rounds.contributionOf(taskId, address(this)), 10 * REWARD, "recorded");
        rounds.closeTask(taskId);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.ClosedTask.selector, taskId));
        rounds.closeTask(taskId);
        vm.prank(WATCHER);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NothingToRefund.selector, taskId));
        rounds.withdrawTaskRefund(taskId);
        assertEq(rounds.withdrawTaskRefund(taskId), 10 * REWARD, "all of it: the only funder");
        assertEq(rounds.contributionOf(taskId, address(this)), 0, "paid once");
    }

    /// A queued change not yet in force is visible, and queuing again replaces it and restarts the delay.
    function test_queuedChangeReplacedAndVisible() public {
        ITrainingRounds.Params memory p = _defaultParams();
        p.challengeBond = 2;
        rounds.queueParams(p);
        (ITrainingRounds.Params memory queued, uint64 first) = rounds.pendingParams();
        assertEq(queued.challengeBond, 2, "visible");
        vm.warp(block.timestamp + 100);
        p.challengeBond = 3;
        rounds.queueParams(p);
        (queued, ) = rounds.pendingParams();
        (, uint64 second) = rounds.pendingParams();
        assertEq(queued.challengeBond, 3, "replaced");
        assertEq(second, first + 100, "delay restarted");
        rounds.queueVerifier(IAggregationVerifier(address(0xCAFE)));
        (IAggregationVerifier pending, uint64 at) = rounds.pendingVerifier();
        assertTrue(address(pending) == address(0xCAFE) && at == second, "verifier queued");
        vm.warp(second);
        assertEq(rounds.params().challengeBond, 3, "in force");
        (, uint64 none) = rounds.pendingParams();
        assertEq(none, 0, "nothing queued");
        uint256 roundId = rounds.openRound(taskId);
        assertTrue(address(IRoundSelection(address(rounds)).getRound(roundId).verifier) == address(0xCAFE), "new rounds use it");
        assertEq(rounds.roundParams(roundId).challengeBond, 3, "new rounds use them");
    }

    /// One signature against the chain: a trainer that signed a commitment other than the one it committed,
    /// an aggregator that signed an aggregate other than the one it posted.
    function test_signedConflictWithChain() public {
        uint256 roundId = _openAndCommit();
        bytes32[2] memory committed = [bytes32("c1"), bytes32(uint256(100))];
        bytes32[2] memory other = [bytes32("c1x"), bytes32(uint256(100))];
        bytes memory same = _sign(T1_KEY, rounds.commitmentDigest(roundId, committed[0], 100));
        bytes memory diff = _sign(T1_KEY, rounds.commitmentDigest(roundId, other[0], 100));
        vm.expectRevert(ITrainingRounds.InvalidEvidence.selector);
        rounds.reportSignedConflict(roundId, false, committed, same);
        vm.prank(WATCHER);
        rounds.reportSignedConflict(roundId, false, other, diff);
        assertEq(registry.slashableStake(t1), 180e18, "trainer rate");
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.AlreadySlashed.selector, t1));
        rounds.reportEquivocation(roundId, false, committed, same, other, diff);

        bytes32[2] memory signedAgg = [bytes32("aggX"), bytes32("model1")];
        bytes memory sigAgg = _sign(AGG_KEY, rounds.aggregateDigest(roundId, signedAgg[0], signedAgg[1]));
        vm.expectRevert(ITrainingRounds.InvalidEvidence.selector);
        rounds.reportSignedConflict(roundId, true, signedAgg, sigAgg); // nothing posted yet
        _post(roundId, _weights(100, 300, 600));
        rounds.reportSignedConflict(roundId, true, signedAgg, sigAgg);
        assertEq(registry.slashableStake(agg), 500e18, "aggregator rate");
    }

    /// Nothing delivered: the aggregator posts all-zero weights and the round fails at once, nobody slashed.
    function test_allZeroWeightsCloseUnslashed() public {
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(0, 0, 0));
        assertTrue(IRoundSelection(address(rounds)).getRound(roundId).state == ITrainingRounds.RoundState.Failed, "failed");
        assertEq(IRoundSelection(address(rounds)).getRound(roundId).pendingChallenges, 0, "nothing to prove");
        assertEq(registry.slashableStake(agg), 1_000e18, "not slashed");
        assertEq(IRoundSelection(address(rounds)).getTask(taskId).rewardPool, 10 * REWARD, "emission back");
    }
}
