// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IRoundSelection} from "./interfaces/IRoundSelection.sol";
import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {StakeRegistry} from "./StakeRegistry.sol";
import {TrainingRounds} from "./TrainingRounds.sol";
import {VainToken} from "./VainToken.sol";
import {BlockHeader} from "./rounds/BlockHeader.sol";
import {RoundsExtension} from "./rounds/RoundsExtension.sol";
import {BlockHeaders} from "./test/BlockHeaders.sol";
import {RoundDriver} from "./test/RoundDriver.sol";
import {NUM_CHUNKS, RoundsFixture} from "./test/RoundsFixture.sol";

/// @notice A contract candidate that tops up its stake and retries the selection inside one transaction
/// until the draw lands on itself (the attack that won every round against the one-step selection).
contract GrindingCandidate {
    IRoundSelection internal immutable rounds;
    StakeRegistry internal immutable registry;

    constructor(TrainingRounds rounds_, StakeRegistry registry_, VainToken token_) {
        rounds = IRoundSelection(address(rounds_));
        registry = registry_;
        token_.approve(address(registry_), type(uint256).max);
    }

    function join(uint256 amount, uint256 taskId) external {
        registry.stake(amount);
        rounds.setAggregatorOptIn(taskId, true);
    }

    /// Tops up 1 wei and retries up to `tries` times; returns whether it won.
    function grind(uint256 roundId, address[] calldata candidates, bytes calldata header, uint256 tries)
        external
        returns (bool)
    {
        for (uint256 i = 0; i < tries; ++i) {
            try this.selectSelf(roundId, candidates, header) {
                return true;
            } catch {
                registry.stake(1);
            }
        }
        return false;
    }

    function selectSelf(uint256 roundId, address[] calldata candidates, bytes calldata header) external {
        require(msg.sender == address(this), "self only");
        if (rounds.selectAggregator(roundId, candidates, header) != address(this)) revert("not me");
    }
}

/// @notice Header parsing: the RANDAO value read from real-shaped headers and nothing else.
contract BlockHeaderTest is RoundsFixture {
    function parse(bytes calldata header, uint256 blockNumber) external view returns (bytes32) {
        return BlockHeader.prevrandao(header, blockNumber);
    }

    function testFuzz_readsMixHashNotADecoy(bytes32 mix, uint64 number) public {
        number = uint64(bound(number, 1, 1e12));
        vm.roll(uint256(number) + 1);
        bytes memory header = BlockHeaders.header(mix, number);
        vm.setBlockhash(number, keccak256(header));
        assertTrue(this.parse(header, number) == mix, "mixHash");
    }

    function test_rejectsWrongBlockStaleBlockAndMalformedHeaders() public {
        vm.roll(1_000);
        bytes memory header = BlockHeaders.header(bytes32("mix"), 990);
        vm.setBlockhash(990, keccak256(header));
        vm.expectRevert(abi.encodeWithSelector(BlockHeader.HeaderMismatch.selector, 991));
        this.parse(header, 991);
        vm.expectRevert(abi.encodeWithSelector(BlockHeader.BlockHashUnavailable.selector, 1_000));
        this.parse(header, 1_000);
        vm.expectRevert(abi.encodeWithSelector(BlockHeader.BlockHashUnavailable.selector, 700));
        this.parse(header, 700);
        // A list that is too short: hashes like a block, but has no 14th item.
        bytes memory short = BlockHeaders.encodeList(abi.encodePacked(BlockHeaders.encodeUint(1)));
        vm.setBlockhash(995, keccak256(short));
        vm.expectRevert(BlockHeader.MalformedHeader.selector);
        this.parse(short, 995);
        // Not a list at all.
        bytes memory notList = BlockHeaders.encodeBytes(abi.encodePacked(bytes32("x")));
        vm.setBlockhash(996, keccak256(notList));
        vm.expectRevert(BlockHeader.MalformedHeader.selector);
        this.parse(notList, 996);
    }
}

/// @notice The selection, sampling, slot and candidate attacks of issue #18, each failing to profit.
contract RoundSelectionTest is RoundsFixture {
    function setUp() public {
        _setUpRounds();
    }

    /// A round of the unproven task (no samples to answer) with t1 as its only trainer, past its commit deadline.
    function _openWithOneTrainer(bytes32 commitment) internal returns (uint256 roundId) {
        roundId = rounds.openRound(unprovenTaskId);
        vm.prank(t1);
        rounds.commitUpdate(roundId, commitment, 1);
        vm.warp(block.timestamp + 61);
    }

    /// The stake-weighted pick from the state fixed at the lock, computed independently of the contract.
    function _expected(uint256 roundId, address[] memory candidates, bytes32 mix) internal view returns (address) {
        ITrainingRounds.RoundDraws memory d = selection.getDraws(roundId);
        uint256 seed = uint256(keccak256(abi.encode(mix, roundId)));
        uint256 total;
        for (uint256 i = 0; i < candidates.length; ++i) total += registry.activeStakeAt(candidates[i], d.lockBlock);
        uint256 target = seed % total;
        for (uint256 i = 0; i < candidates.length; ++i) {
            uint256 s = registry.activeStakeAt(candidates[i], d.lockBlock);
            if (target < s) return candidates[i];
            target -= s;
        }
        return address(0);
    }

    function _finishRound(uint256 roundId) internal {
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
        uint256[] memory w = new uint256[](r.trainers.length);
        w[0] = 1;
        vm.prank(r.aggregator);
        rounds.postAggregate(roundId, bytes32("a"), bytes32("m"), w);
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline + 1);
        rounds.finalizeRound(roundId);
    }

    /// Grinding in one transaction: the candidate wins exactly the rounds the fair draw gives it.
    function test_grindingInOneTransactionWinsNothingExtra() public {
        GrindingCandidate grinder = new GrindingCandidate(rounds, registry, token);
        token.transfer(address(grinder), 300e18);
        grinder.join(100e18, unprovenTaskId);
        token.approve(address(rounds), 10 * REWARD);
        rounds.fundTask(unprovenTaskId, 10 * REWARD);
        vm.roll(block.number + 1);
        uint256 wins;
        uint256 fair;
        for (uint256 i = 0; i < 12; ++i) {
            uint256 roundId = _openWithOneTrainer(bytes32(i + 1));
            address[] memory candidates = selection.aggregatorCandidates(unprovenTaskId);
            selection.lockSelection(roundId);
            bytes32 mix = keccak256(abi.encode("grind", i));
            bytes memory header = RoundDriver.prepare(selection.getDraws(roundId).seedBlock, mix);
            if (_expected(roundId, candidates, mix) == address(grinder)) ++fair;
            if (grinder.grind(roundId, candidates, header, 50)) ++wins;
            else selection.selectAggregator(roundId, candidates, header);
            _finishRound(roundId);
            vm.roll(block.number + 1);
        }
        assertEq(wins, fair, "grinding changes nothing");
        assertTrue(wins < 12, "and does not win every round");
    }

    /// Stake, opt-in and opt-out changes after the lock (even once the seed block is public) change nothing.
    function testFuzz_selectionIgnoresChangesAfterLock(bytes32 mix, uint96 topUp, bool aggLeaves, bool t2Joins) public {
        uint256 roundId = _openWithOneTrainer(bytes32("c"));
        _setOptIn(t1, true);
        address[] memory candidates = selection.aggregatorCandidates(unprovenTaskId);
        selection.lockSelection(roundId);
        bytes memory header = RoundDriver.prepare(selection.getDraws(roundId).seedBlock, mix);
        address expected = _expected(roundId, candidates, mix);
        // Everyone now knows the seed; they move stake and membership.
        uint256 amount = bound(uint256(topUp), 1, 1_000_000e18);
        token.transfer(t1, amount);
        vm.startPrank(t1);
        token.approve(address(registry), amount);
        registry.stake(amount);
        vm.stopPrank();
        vm.prank(agg);
        registry.requestUnstake(900e18);
        if (aggLeaves) {
            _setOptIn(agg, false);
        }
        if (t2Joins) {
            _setOptIn(t2, true);
        }
        // Passing today's list instead of the locked one is refused.
        if (aggLeaves || t2Joins) {
            address[] memory today = selection.aggregatorCandidates(unprovenTaskId);
            vm.expectRevert(ITrainingRounds.InvalidCandidates.selector);
            selection.selectAggregator(roundId, today, header);
        }
        assertTrue(selection.selectAggregator(roundId, candidates, header) == expected, "fixed at the lock");
    }

    /// The caller cannot pick its block: selecting later (within the seed's 256 blocks) gives the same result.
    function test_selectionDoesNotDependOnTheSelectingBlock() public {
        uint256 roundId = _openWithOneTrainer(bytes32("c"));
        _setOptIn(t1, true);
        address[] memory candidates = selection.aggregatorCandidates(unprovenTaskId);
        selection.lockSelection(roundId);
        uint64 seedBlock = selection.getDraws(roundId).seedBlock;
        vm.expectRevert(abi.encodeWithSelector(BlockHeader.BlockHashUnavailable.selector, seedBlock));
        selection.selectAggregator(roundId, candidates, BlockHeaders.header(bytes32("x"), seedBlock));
        bytes memory header = RoundDriver.prepare(seedBlock, bytes32("seed"));
        address expected = _expected(roundId, candidates, bytes32("seed"));
        vm.roll(seedBlock + 200);
        vm.prevrandao(bytes32("another block's randao"));
        assertTrue(selection.selectAggregator(roundId, candidates, header) == expected, "same pick");
    }

    /// A seed that expired unused can be replaced by a new lock; a live one cannot.
    function test_relockOnlyAfterTheSeedExpired() public {
        uint256 roundId = _openWithOneTrainer(bytes32("c"));
        selection.lockSelection(roundId);
        uint64 seedBlock = selection.getDraws(roundId).seedBlock;
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.SelectionAlreadyLocked.selector, seedBlock));
        selection.lockSelection(roundId);
        vm.roll(seedBlock + 257);
        selection.lockSelection(roundId);
        assertEq(selection.getDraws(roundId).seedBlock, block.number + 2, "new seed block");
        assertTrue(RoundDriver.selectLocked(rounds, roundId, selection.aggregatorCandidates(unprovenTaskId), "m") == agg, "selects");
    }

    /// Late selection: the operator selected at the end of the window still gets a full aggregate window,
    /// and cannot be reported missed in the same block.
    function test_lateSelectionNeverSlashes() public {
        uint256 roundId = _openWithOneTrainer(bytes32("c"));
        uint64 selectionDeadline = selection.getDraws(roundId).selectionDeadline;
        vm.warp(selectionDeadline);
        assertTrue(_select(roundId) == agg, "selected at the last second");
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
        assertEq(r.aggregateDeadline, block.timestamp + 60, "a full aggregate window from selection");
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.DeadlineNotReached.selector, r.aggregateDeadline));
        rounds.reportMissedAggregation(roundId);
        vm.warp(r.aggregateDeadline);
        uint256[] memory w = new uint256[](1);
        vm.prank(agg);
        rounds.postAggregate(roundId, bytes32("a"), bytes32("m"), w);
        assertEq(registry.slashableStake(agg), 1_000e18, "not slashed");
    }

    /// Nobody selects within the window: the round fails, nobody is slashed or paid, the emission returns.
    function test_selectionWindowExpiresUnpaidAndUnslashed() public {
        uint256 poolBefore = IRoundSelection(address(rounds)).getTask(unprovenTaskId).rewardPool;
        uint256 roundId = _openWithOneTrainer(bytes32("c"));
        selection.lockSelection(roundId);
        vm.warp(selection.getDraws(roundId).selectionDeadline + 1);
        assertTrue(RoundDriver.selectLocked(rounds, roundId, selection.aggregatorCandidates(unprovenTaskId), "m") == address(0), "none");
        assertEq(uint8(IRoundSelection(address(rounds)).getRound(roundId).state), uint8(ITrainingRounds.RoundState.Failed), "failed");
        assertEq(IRoundSelection(address(rounds)).getTask(unprovenTaskId).rewardPool, poolBefore, "emission back");
        assertEq(rounds.claimable(t1), 0, "self-reported samples earn nothing");
        assertEq(registry.slashableStake(agg), 1_000e18, "nobody slashed");
        rounds.openRound(unprovenTaskId); // the task moves on
    }

    /// Every round leaves Open within commit + selection window, whatever the candidates did.
    function testFuzz_everyRoundLeavesOpenInBoundedTime(uint8 trainers, bool aggUnstakes, uint32 lateness) public {
        if (aggUnstakes) {
            vm.prank(agg);
            registry.requestUnstake(1_000e18);
        }
        uint256 roundId = rounds.openRound(taskId);
        address[3] memory ts = [t1, t2, t3];
        for (uint256 i = 0; i < trainers % 4; ++i) {
            vm.prank(ts[i]);
            rounds.commitUpdate(roundId, bytes32(i + 1), 1);
        }
        vm.roll(block.number + 1);
        uint64 selectionDeadline = selection.getDraws(roundId).selectionDeadline;
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).commitDeadline + 1 + (uint256(lateness) % 200));
        address chosen = _select(roundId);
        ITrainingRounds.RoundState state = IRoundSelection(address(rounds)).getRound(roundId).state;
        if (block.timestamp > selectionDeadline || trainers % 4 == 0) {
            assertEq(uint8(state), uint8(ITrainingRounds.RoundState.Failed), "closed");
        } else {
            assertEq(uint8(state), uint8(ITrainingRounds.RoundState.Aggregating), "selected");
            assertTrue(chosen != address(0), "someone aggregates");
        }
    }

    /// The round's bounded lifetime counts the selection window and the backup's takeover: for any schedule
    /// createTask accepts, a round selected at the last second of its selection window, whose aggregator misses
    /// and whose backup takes over at the last second it may, posted at the last second of the backup's full
    /// window and then taking every challenge (spaced answer windows and the last dispute window) is judged
    /// within MAX_ROUND_DURATION of opening. (Against the old check, which counted one aggregate window, a
    /// schedule filling MAX_ROUND_DURATION exactly outlived it by a whole aggregate window.)
    function testFuzz_roundLifetimeCountsSelectionAndTakeover(uint32 commitW, uint32 aggregateW, uint32 challengeW) public {
        uint256 spare = rounds.MAX_ROUND_DURATION() - 16 * uint256(ANSWER_WINDOW) - DISPUTE_WINDOW - 3 * rounds.MIN_WINDOW();
        commitW = uint32(bound(commitW, rounds.MIN_WINDOW(), rounds.MIN_WINDOW() + spare));
        aggregateW = uint32(bound(aggregateW, rounds.MIN_WINDOW(), rounds.MIN_WINDOW() + spare));
        challengeW = uint32(bound(challengeW, rounds.MIN_WINDOW(), rounds.MIN_WINDOW() + spare));
        ITrainingRounds.TaskConfig memory config = _taskConfig(bytes32("m"), NUM_CHUNKS, 1, commitW, aggregateW, challengeW, 0);
        config.proven = false;
        config.ruleId = 1;
        _setOptIn(t1, true); // a second candidate: the round has a backup
        vm.roll(block.number + 1);
        try rounds.createTask(config) returns (uint256 id) {
            _optInTo(agg, id);
            _optInTo(t1, id);
            token.approve(address(rounds), 1);
            rounds.fundTask(id, 1);
            uint256 openedAt = block.timestamp;
            uint256 roundId = rounds.openRound(id);
            vm.prank(t1);
            rounds.commitUpdate(roundId, bytes32("c"), 1);
            vm.roll(block.number + 1);
            vm.warp(selection.getDraws(roundId).selectionDeadline); // selected at the last second
            assertTrue(_select(roundId) != address(0), "selected");
            vm.warp(IRoundSelection(address(rounds)).getRound(roundId).aggregateDeadline + aggregateW); // the last takeover second
            rounds.reportMissedAggregation(roundId);
            ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
            assertEq(uint8(r.state), uint8(ITrainingRounds.RoundState.Aggregating), "the backup took over");
            uint256 judgedBy = r.challengeDeadline + rounds.MAX_CHALLENGES_PER_ROUND() * uint256(ANSWER_WINDOW) + DISPUTE_WINDOW;
            assertTrue(judgedBy - openedAt <= rounds.MAX_ROUND_DURATION(), "judged within MAX_ROUND_DURATION");
        } catch (bytes memory reason) {
            assertTrue(bytes4(reason) == ITrainingRounds.InvalidSchedule.selector, "only the schedule is refused");
            uint256 worst = uint256(commitW) + 4 * uint256(aggregateW) + challengeW + 16 * uint256(ANSWER_WINDOW) + DISPUTE_WINDOW;
            assertTrue(worst > rounds.MAX_ROUND_DURATION(), "refused only when it could outlive the bound");
        }
    }

    /// A young network: no candidate has stake, a trainer is drawn (stake-weighted among the trainers).
    function test_bootstrapsFromTrainersWhenCandidatesAreStale() public {
        vm.prank(agg);
        registry.requestUnstake(1_000e18); // the only candidate leaves, but stays listed
        uint256 roundId = rounds.openRound(taskId);
        vm.prank(t2);
        rounds.commitUpdate(roundId, bytes32("2"), 1);
        vm.prank(t3);
        rounds.commitUpdate(roundId, bytes32("3"), 1);
        vm.roll(block.number + 1);
        vm.warp(block.timestamp + 61);
        address chosen = _select(roundId);
        assertTrue(chosen == t2 || chosen == t3, "a trainer aggregates");
    }

    /// The aggregator cannot steer the sampled chunks: they do not depend on its commitment, and are not
    /// known when it posts.
    function testFuzz_samplesIgnoreTheAggregateCommitment(bytes32 commitmentA, bytes32 commitmentB, bytes32 mix) public {
        uint256 roundId = _openAndCommit();
        uint256 snapshot = vm.snapshotState();
        bool[NUM_CHUNKS] memory sampledA = _postAndDraw(roundId, commitmentA, mix);
        vm.revertToState(snapshot);
        bool[NUM_CHUNKS] memory sampledB = _postAndDraw(roundId, commitmentB, mix);
        for (uint256 i = 0; i < NUM_CHUNKS; ++i) assertTrue(sampledA[i] == sampledB[i], "same chunks");
    }

    function _postAndDraw(uint256 roundId, bytes32 commitment, bytes32 mix) internal returns (bool[NUM_CHUNKS] memory s) {
        vm.prank(agg);
        rounds.postAggregate(roundId, commitment, bytes32("m"), _weights(1, 1, 1));
        uint64 seedBlock = selection.getDraws(roundId).sampleSeedBlock;
        assertEq(seedBlock, block.number + 2, "seed block after the post");
        uint256 posted = vm.snapshotState();
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.SamplesNotDrawn.selector, roundId));
        rounds.finalizeRound(roundId);
        vm.revertToState(posted);
        RoundDriver.draw(rounds, roundId, mix);
        for (uint256 i = 0; i < NUM_CHUNKS; ++i) {
            s[i] = IRoundSelection(address(rounds)).getChallenge(roundId, i).status == ITrainingRounds.ChallengeStatus.Pending;
        }
    }

    /// The answer deadline counts from the draw, and a draw cannot repeat.
    function test_answerDeadlineCountsFromTheDraw() public {
        uint256 roundId = _openAndCommit();
        vm.prank(agg);
        rounds.postAggregate(roundId, bytes32("a"), bytes32("m"), _weights(1, 1, 1));
        vm.warp(block.timestamp + 500);
        RoundDriver.draw(rounds, roundId, bytes32("mix"));
        uint256 chunk = _sampledChunk(roundId);
        assertEq(IRoundSelection(address(rounds)).getChallenge(roundId, chunk).answerDeadline, block.timestamp + 600, "from the draw");
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NothingToDraw.selector, roundId));
        selection.drawSamples(roundId, "");
    }

    /// Sixteen minimum-stake sybils fill a round at its opening; honest trainers with more stake still get in,
    /// and stake moved in after the round opened does not count.
    function test_sybilsCannotShutOutRicherTrainers() public {
        address[16] memory sybils;
        for (uint256 i = 0; i < 16; ++i) {
            sybils[i] = address(uint160(0x5000 + i));
            _fundAndStake(sybils[i], MIN_STAKE);
        }
        address late = address(0x1A7E);
        vm.roll(block.number + 1);
        uint256 roundId = rounds.openRound(unprovenTaskId);
        for (uint256 i = 0; i < 16; ++i) {
            vm.prank(sybils[i]);
            rounds.commitUpdate(roundId, bytes32(i + 1), 1);
        }
        vm.prank(agg); // 1,000 staked before the round opened
        rounds.commitUpdate(roundId, bytes32("honest"), 1);
        vm.prank(t1); // 200
        rounds.commitUpdate(roundId, bytes32("honest1"), 1);
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
        assertEq(r.trainers.length, 16, "still full");
        bool aggIn;
        bool t1In;
        for (uint256 i = 0; i < 16; ++i) {
            if (r.trainers[i] == agg) aggIn = true;
            if (r.trainers[i] == t1) t1In = true;
            assertTrue(r.commitments[i] != bytes32(0), "commitments follow their trainers");
        }
        assertTrue(aggIn && t1In, "richer trainers took two sybils' slots");
        // An evicted sybil cannot come back with equal stake; stake staked after the opening does not count.
        vm.prank(sybils[0]);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.RoundFull.selector, 16));
        rounds.commitUpdate(roundId, bytes32("back"), 1);
        _fundAndStake(late, 10_000e18);
        vm.prank(late);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.RoundFull.selector, 16));
        rounds.commitUpdate(roundId, bytes32("late"), 1);
        // The eviction runs only inside commitUpdate, never through the fallback.
        vm.prank(agg);
        vm.expectRevert(RoundsExtension.SlotOnlyFromCommit.selector);
        RoundsExtension(address(rounds)).takeSlot(roundId, 16);
    }

    /// Candidates volunteer per task: a volunteer of other tasks (here agg, with five times t1's stake) is never
    /// drawn, as aggregator or backup, for a round of a task it does not run, a group task's included. With one
    /// global list it was, and was slashed for a round it never followed.
    function testFuzz_aVolunteerIsNeverDrawnForAnotherTasksRound(bytes32 mix, bool groupTask) public {
        uint256 other = rounds.createTask(_taskConfig(bytes32("other"), NUM_CHUNKS, REWARD, 60, 60, 120, 0));
        if (groupTask) {
            uint256 parent = rounds.createTask(_taskConfig(bytes32("parent"), NUM_CHUNKS, REWARD, 20_000, 60, 120, 0));
            RoundsExtension(address(rounds)).linkTask(other, parent);
        }
        token.approve(address(rounds), REWARD);
        rounds.fundTask(other, REWARD);
        _optInTo(t1, other);
        vm.roll(block.number + 1);
        if (groupTask) {
            // The only group: every operator staked before the seed's draw is drawn into it.
            (, uint256 seedBlock) = selection.groupSeed(selection.drawGroupSeed(""));
            selection.drawGroupSeed(RoundDriver.prepare(seedBlock, mix));
        }
        uint256 roundId = rounds.openRound(other);
        vm.prank(t1);
        rounds.commitUpdate(roundId, bytes32("c1"), 100);
        vm.prank(t2);
        rounds.commitUpdate(roundId, bytes32("c2"), 100);
        vm.warp(block.timestamp + 61);
        assertTrue(RoundDriver.select(rounds, roundId, mix) == t1, "the task's own volunteer");
        // No other volunteer: the backup comes from the round's own trainers, never from another task's list.
        assertTrue(selection.getDraws(roundId).backup == t2, "a trainer of the round backs it up");
    }

    /// Stale candidates cannot lock the list: a newcomer replaces an inactive one, anyone prunes the rest.
    function test_staleCandidatesAreEvictedAndPruned() public {
        address[] memory stale = new address[](63);
        for (uint256 i = 0; i < 63; ++i) {
            stale[i] = address(uint160(0x6000 + i));
            _fundAndStake(stale[i], MIN_STAKE);
            _setOptIn(stale[i], true);
        }
        assertEq(selection.aggregatorCandidates(taskId).length, 64, "full");
        for (uint256 i = 0; i < 63; ++i) {
            vm.prank(stale[i]);
            registry.requestUnstake(MIN_STAKE);
        }
        _setOptIn(t1, true); // evicts an inactive candidate
        assertEq(selection.aggregatorCandidates(taskId).length, 64, "still full, one stale gone");
        assertEq(selection.pruneCandidates(taskId, stale), 62, "the other stale candidates pruned");
        assertEq(selection.aggregatorCandidates(taskId).length, 2, "agg and t1 remain");
        address[] memory active = new address[](1);
        active[0] = agg;
        assertEq(selection.pruneCandidates(taskId, active), 0, "active candidates stay");
    }

    /// A full list of active candidates admits only a newcomer with more stake than the least-staked one.
    function test_fullListEvictsTheLeastStakedForARicherNewcomer() public {
        for (uint256 i = 0; i < 63; ++i) {
            address c = address(uint160(0x7000 + i));
            _fundAndStake(c, MIN_STAKE + i + 1);
            _setOptIn(c, true);
        }
        address poor = address(0x9001);
        _fundAndStake(poor, MIN_STAKE);
        vm.prank(poor);
        vm.expectRevert(ITrainingRounds.TooManyCandidates.selector);
        selection.setAggregatorOptIn(taskId, true);
        vm.prank(t1); // 200 staked: more than the least (MIN_STAKE + 1)
        selection.setAggregatorOptIn(taskId, true);
        address[] memory list = selection.aggregatorCandidates(taskId);
        for (uint256 i = 0; i < list.length; ++i) assertTrue(list[i] != address(0x7000), "least-staked evicted");
    }
}
