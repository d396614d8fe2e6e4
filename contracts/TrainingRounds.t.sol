// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IAggregationVerifier} from "./interfaces/IAggregationVerifier.sol";
import {IRoundSelection} from "./interfaces/IRoundSelection.sol";
import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {NUM_CHUNKS, RoundsFixture} from "./test/RoundsFixture.sol";
import {RoundDriver} from "./test/RoundDriver.sol";
import {TrainingRounds} from "./TrainingRounds.sol";

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

    function test_missedAggregationSlashes() public {
        uint256 roundId = _openAndCommit();
        vm.expectRevert();
        rounds.reportMissedAggregation(roundId);
        vm.warp(block.timestamp + 61);
        vm.prank(WATCHER);
        rounds.reportMissedAggregation(roundId);
        assertEq(registry.slashableStake(agg), 500e18, "slashed");
        // Its backup (a trainer: agg is the only candidate) took over; it misses too, and the round fails.
        address backup = IRoundSelection(address(rounds)).getRound(roundId).aggregator;
        assertTrue(backup == t1 || backup == t2 || backup == t3, "a trainer took over");
        _missUntilFailed(roundId, WATCHER);
        assertEq(registry.slashableStake(backup), 100e18, "the backup's own miss is slashed");
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
        _setOptIn(agg, false);
        uint256 roundId = rounds.openRound(taskId);
        vm.prank(t1);
        rounds.commitUpdate(roundId, bytes32("c"), 1);
        vm.warp(block.timestamp + 61);
        assertTrue(_select(roundId) == t1, "the only trainer aggregates");
        assertEq(uint8(IRoundSelection(address(rounds)).getRound(roundId).state), uint8(ITrainingRounds.RoundState.Aggregating), "state");
    }

    function test_stakeWeightedSelection() public {
        _setOptIn(t1, true);
        _setOptIn(t1, true); // idempotent
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
        p.maxTrainersPerRound = 1025;
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
        _optInTo(agg, slow);
        token.approve(address(rounds), 10);
        rounds.fundTask(slow, 10);
        uint256 first = rounds.openRound(slow);
        vm.prank(t1);
        rounds.commitUpdate(first, bytes32("x"), 1);
        vm.warp(block.timestamp + 61);
        _select(first);
        _missUntilFailed(first, address(this));
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
        selection.setAggregatorOptIn(taskId, true);
        vm.prank(t1);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.UnknownTask.selector, 99));
        selection.setAggregatorOptIn(99, true);
        _setOptIn(t1, false); // not a candidate: no-op
        _setOptIn(t1, true);
        _setOptIn(agg, false);
        address[] memory candidates = selection.aggregatorCandidates(taskId);
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
        _setOptIn(agg, true); // candidates volunteer per task
        uint256 roundId = _openAndCommit();
        assertTrue(!IRoundSelection(address(rounds)).getRound(roundId).proven, "unproven task");
        _post(roundId, _weights(bound(w1, 0, 100), bound(w2, 0, 300), bound(w3, 0, 600)));
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline + 1);
        rounds.finalizeRound(roundId);
        uint256 paid = rounds.claimable(agg) + rounds.claimable(t1) + rounds.claimable(t2) + rounds.claimable(t3);
        assertEq(paid + IRoundSelection(address(rounds)).getTask(t).rewardPool, reward, "exact split");
    }
}
