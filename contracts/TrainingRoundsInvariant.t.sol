// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IRoundSelection} from "./interfaces/IRoundSelection.sol";
import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {NUM_CHUNKS, RoundsFixture} from "./test/RoundsFixture.sol";
import {RoundDriver} from "./test/RoundDriver.sol";
import {TestBase} from "./test/Vm.sol";
import {TrainingRounds} from "./TrainingRounds.sol";

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
        _setOptIn(agg, false);
        _setOptIn(t1, true);
        _setOptIn(t2, true);
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
