// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {StakeRegistry} from "./StakeRegistry.sol";
import {TrainingRounds} from "./TrainingRounds.sol";
import {RoundsFixture} from "./test/RoundsFixture.sol";
import {RoundDriver} from "./test/RoundDriver.sol";
import {TestBase} from "./test/Vm.sol";
import {IRoundSelection} from "./interfaces/IRoundSelection.sol";

/// @notice An adversarial operator (trainer and aggregator candidate, holding its signing key), the owner and a
/// flooding challenger against honest operators, over two tasks (proven and unproven) at once. Honest duties
/// (select, post, answer, report, finalize) run before every step of the clock, as honest nodes would.
contract RoundGameHandler is TestBase {
    TrainingRounds internal immutable rounds;
    StakeRegistry internal immutable registry;
    IERC20 internal immutable token;
    address internal immutable honestAgg;
    address internal immutable adversary;
    uint256 internal immutable adversaryKey;
    address internal immutable watcher;
    address[2] internal honestTrainers;
    uint256[2] internal taskIds;
    uint256[2] internal current;
    mapping(uint256 roundId => mapping(uint256 chunk => bool)) internal lied;

    /// @notice Bonds the watcher paid in (its credits stay unclaimed: it never claims).
    uint256 public bondsIn;
    /// @notice Violations found inside actions (0 when every checked property held).
    uint256 public violations;
    /// @notice Equivocation reports that slashed.
    uint256 public equivocations;

    address[5] internal everyone;
    uint256[5] internal snap;

    constructor(
        TrainingRounds rounds_,
        StakeRegistry registry_,
        address[2] memory honestTrainers_,
        address honestAgg_,
        address adversary_,
        uint256 adversaryKey_,
        address watcher_,
        uint256[2] memory taskIds_
    ) {
        rounds = rounds_;
        registry = registry_;
        token = rounds_.token();
        honestTrainers = honestTrainers_;
        honestAgg = honestAgg_;
        adversary = adversary_;
        adversaryKey = adversaryKey_;
        watcher = watcher_;
        taskIds = taskIds_;
        everyone = [honestTrainers_[0], honestTrainers_[1], honestAgg_, adversary_, watcher_];
    }

    // ------------------------------------------------------------ round flow

    function open(uint256 which) external {
        uint256 t = taskIds[which % 2];
        ITrainingRounds.Task memory task = IRoundSelection(address(rounds)).getTask(t);
        if (rounds.paused() || task.activeRound != 0 || task.rewardPool == 0) return;
        current[which % 2] = rounds.openRound(t);
    }

    function commit(uint256 which, uint256 who, uint256 samples) external {
        uint256 roundId = current[which % 2];
        if (roundId == 0 || rounds.paused()) return;
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
        if (r.state != ITrainingRounds.RoundState.Open || block.timestamp > r.commitDeadline) return;
        address trainer = who % 3 == 2 ? adversary : honestTrainers[who % 2];
        for (uint256 i = 0; i < r.trainers.length; ++i) if (r.trainers[i] == trainer) return;
        if (!registry.isActiveOperator(trainer)) return; // the adversary may have been slashed below the minimum
        vm.prank(trainer);
        rounds.commitUpdate(roundId, keccak256(abi.encode(roundId, trainer)), 1 + (samples % 10_000));
    }

    /// Moves the clock in steps shorter than any window, doing every honest duty before each step.
    function advance(uint256 secondsForward) external {
        uint256 left = 1 + (secondsForward % 400);
        while (left > 0) {
            _honestDuties();
            uint256 step = left < 20 ? left : 20;
            vm.warp(block.timestamp + step);
            left -= step;
        }
        _honestDuties();
    }

    // ------------------------------------------------------------ the adversary

    /// The adversary, when selected, posts any weights it likes (or none: it may also stay silent).
    function adversaryPost(uint256 which, uint256 seed) external {
        uint256 roundId = current[which % 2];
        if (roundId == 0) return;
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
        if (r.state != ITrainingRounds.RoundState.Aggregating || r.aggregator != adversary) return;
        if (block.timestamp > r.aggregateDeadline) return;
        uint256[] memory w = new uint256[](r.trainers.length);
        for (uint256 i = 0; i < w.length; ++i) w[i] = (seed >> (8 * i)) % (uint256(r.sampleCounts[i]) + 1);
        _snap();
        vm.prank(adversary);
        rounds.postAggregate(roundId, bytes32(seed), bytes32(seed >> 1), w);
        _checkFailedPayouts(roundId);
    }

    /// The adversary answers one of its challenges: correctly, with a wrong proof, or with a false statement.
    function adversaryAnswer(uint256 which, uint256 chunk, uint256 mode) external {
        uint256 roundId = current[which % 2];
        if (roundId == 0) return;
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
        if (r.state != ITrainingRounds.RoundState.Challenging || r.aggregator != adversary) return;
        chunk %= r.numChunks;
        ITrainingRounds.Challenge memory ch = IRoundSelection(address(rounds)).getChallenge(roundId, chunk);
        if (ch.status != ITrainingRounds.ChallengeStatus.Pending || block.timestamp > ch.answerDeadline) return;
        bytes32 binding = keccak256(abi.encode(roundId, chunk, r.numChunks, r.weights, r.aggregateCommitment));
        bytes memory proof;
        if (mode % 3 == 0) proof = abi.encodePacked(binding);
        else if (mode % 3 == 1) proof = abi.encodePacked(bytes32(mode));
        else {
            proof = abi.encodePacked(binding, bytes32(uint256(1)));
            lied[roundId][chunk] = true;
        }
        _snap();
        vm.prank(adversary);
        rounds.answerChallenge(roundId, chunk, proof);
        _checkFailedPayouts(roundId);
    }

    /// The adversary equivocates in a role and the report comes from itself or the watcher, in any order.
    function equivocate(uint256 which, bool asAggregator, bool selfReport, uint256 salt) external {
        uint256 roundId = current[which % 2];
        if (roundId == 0) return;
        ITrainingRounds.Role role = asAggregator ? ITrainingRounds.Role.Aggregator : ITrainingRounds.Role.Trainer;
        if (rounds.equivocationSlashed(roundId, adversary, role)) return;
        bytes32[2] memory a = [keccak256(abi.encode(salt)), bytes32(uint256(1))];
        bytes32[2] memory b = [keccak256(abi.encode(salt + 1)), bytes32(uint256(1))];
        bytes memory sa = _sign(asAggregator, roundId, a);
        bytes memory sb = _sign(asAggregator, roundId, b);
        uint256 before = registry.slashableStake(adversary) + token.balanceOf(adversary);
        uint256 stakeBefore = registry.slashableStake(adversary);
        ITrainingRounds.Params memory p = rounds.roundParams(roundId);
        vm.prank(selfReport ? adversary : watcher);
        rounds.reportEquivocation(roundId, asAggregator, a, sa, b, sb);
        ++equivocations;
        uint256 rate = asAggregator ? p.aggregatorSlashBps : p.trainerSlashBps;
        uint256 lost = before - registry.slashableStake(adversary) - token.balanceOf(adversary);
        // At least the role's rate of what it held: no share comes back to it, even when it reports itself.
        if (lost < (stakeBefore * rate) / 10_000) ++violations;
    }

    /// The adversary signs a commitment other than the one it put on chain; the watcher reports it.
    function signedConflict(uint256 which, uint256 salt) external {
        uint256 roundId = current[which % 2];
        if (roundId == 0) return;
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
        bool committed;
        for (uint256 i = 0; i < r.trainers.length; ++i) if (r.trainers[i] == adversary) committed = true;
        if (!committed || rounds.equivocationSlashed(roundId, adversary, ITrainingRounds.Role.Trainer)) return;
        bytes32[2] memory v = [keccak256(abi.encode("other", salt)), bytes32(uint256(1))];
        bytes memory sig = _sign(false, roundId, v);
        vm.prank(watcher);
        rounds.reportSignedConflict(roundId, false, v, sig);
        ++equivocations;
    }

    /// The watcher challenges chunks of any proven round, flooding if it likes.
    function challenge(uint256 which, uint256 chunk) external {
        uint256 roundId = current[which % 2];
        if (roundId == 0) return;
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
        if (r.state != ITrainingRounds.RoundState.Challenging || !r.proven) return;
        if (block.timestamp > r.challengeDeadline || r.challengeCount >= 16) return;
        chunk %= r.numChunks;
        if (IRoundSelection(address(rounds)).getChallenge(roundId, chunk).status != ITrainingRounds.ChallengeStatus.None) return;
        vm.prank(watcher);
        rounds.challenge(roundId, chunk);
        bondsIn += rounds.roundParams(roundId).challengeBond;
    }

    /// The owner queues new parameters or pauses: no stake may change in the call.
    function owner(uint256 seed) external {
        uint256 before = _stakes();
        if (seed % 3 == 0) {
            ITrainingRounds.Params memory p = rounds.params();
            p.trainerSlashBps = uint16(1 + (seed >> 8) % 5_000);
            p.aggregatorSlashBps = uint16(p.trainerSlashBps + ((seed >> 24) % (5_001 - uint256(p.trainerSlashBps))));
            p.sampledChunks = uint8(1 + (seed >> 40) % 8);
            p.challengeBond = 1 + (seed >> 48) % 20e18;
            rounds.queueParams(p);
        } else if (seed % 3 == 1) {
            if (!rounds.paused()) rounds.pause();
        } else if (rounds.paused()) {
            rounds.unpause();
        }
        if (_stakes() != before) ++violations;
    }

    // ------------------------------------------------------------ honest duties

    function _honestDuties() internal {
        for (uint256 k = 0; k < 2; ++k) {
            uint256 roundId = current[k];
            if (roundId == 0) continue;
            ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
            _snap();
            if (r.state == ITrainingRounds.RoundState.Open && block.timestamp > r.commitDeadline) {
                RoundDriver.select(rounds, roundId, keccak256(abi.encode("mix", roundId, block.timestamp)));
            } else if (r.state == ITrainingRounds.RoundState.Aggregating) {
                if (r.aggregator == honestAgg && block.timestamp <= r.aggregateDeadline) {
                    uint256[] memory w = new uint256[](r.trainers.length);
                    for (uint256 i = 0; i < w.length; ++i) w[i] = r.trainers[i] == adversary ? 0 : r.sampleCounts[i];
                    vm.prank(honestAgg);
                    rounds.postAggregate(roundId, keccak256(abi.encode("agg", roundId)), bytes32(roundId), w);
                } else if (block.timestamp > r.aggregateDeadline) {
                    vm.prank(watcher);
                    rounds.reportMissedAggregation(roundId);
                }
            } else if (r.state == ITrainingRounds.RoundState.Challenging) {
                RoundDriver.draw(rounds, roundId, keccak256(abi.encode("samples", roundId)));
                _challengeDuties(roundId, r);
            }
            _checkFailedPayouts(roundId);
        }
    }

    function _challengeDuties(uint256 roundId, ITrainingRounds.Round memory r) internal {
        for (uint256 chunk = 0; chunk < r.numChunks; ++chunk) {
            ITrainingRounds.Challenge memory ch = IRoundSelection(address(rounds)).getChallenge(roundId, chunk);
            if (ch.status == ITrainingRounds.ChallengeStatus.Pending) {
                if (r.aggregator == honestAgg) {
                    bytes32 binding = keccak256(
                        abi.encode(roundId, chunk, r.numChunks, r.weights, r.aggregateCommitment)
                    );
                    vm.prank(honestAgg);
                    rounds.answerChallenge(roundId, chunk, abi.encodePacked(binding));
                } else if (block.timestamp > ch.answerDeadline) {
                    vm.prank(watcher);
                    rounds.resolveUnansweredChallenge(roundId, chunk);
                    return;
                }
            } else if (ch.status == ITrainingRounds.ChallengeStatus.Answered && lied[roundId][chunk]) {
                if (block.timestamp <= r.disputeDeadline) {
                    vm.prank(watcher);
                    rounds.disputeStatement(roundId, chunk, abi.encodePacked(bytes32(uint256(1))), "");
                    return;
                }
            }
        }
        r = IRoundSelection(address(rounds)).getRound(roundId);
        if (
            block.timestamp > r.challengeDeadline &&
            block.timestamp > r.disputeDeadline &&
            r.pendingChallenges == 0
        ) rounds.finalizeRound(roundId);
    }

    // ------------------------------------------------------------ checks

    function _snap() internal {
        for (uint256 i = 0; i < 5; ++i) snap[i] = rounds.claimable(everyone[i]);
    }

    /// A round that just failed credited nothing to a trainer that did not provably deliver (weight 0, or
    /// nothing posted).
    function _checkFailedPayouts(uint256 roundId) internal {
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
        if (r.state != ITrainingRounds.RoundState.Failed) return;
        for (uint256 i = 0; i < r.trainers.length; ++i) {
            bool delivered = r.posted && r.weights[i] > 0;
            if (delivered) continue;
            for (uint256 k = 0; k < 5; ++k) {
                if (everyone[k] == r.trainers[i] && rounds.claimable(everyone[k]) > snap[k]) ++violations;
            }
        }
        _snap();
    }

    function _stakes() internal view returns (uint256 sum) {
        for (uint256 i = 0; i < 5; ++i) sum += registry.slashableStake(everyone[i]);
    }

    function _sign(bool asAggregator, uint256 roundId, bytes32[2] memory v) internal returns (bytes memory) {
        bytes32 digest = asAggregator
            ? rounds.aggregateDigest(roundId, v[0], v[1])
            : rounds.commitmentDigest(roundId, v[0], uint256(v[1]));
        (uint8 vv, bytes32 rr, bytes32 ss) = vm.sign(adversaryKey, digest);
        return abi.encodePacked(rr, ss, vv);
    }

    /// Pays out or returns the bonds of closed rounds.
    function settle(uint256 which) external {
        uint256 roundId = current[which % 2];
        if (roundId == 0) return;
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
        if (r.state != ITrainingRounds.RoundState.Finalized && r.state != ITrainingRounds.RoundState.Failed) return;
        for (uint256 chunk = 0; chunk < r.numChunks; ++chunk) {
            ITrainingRounds.Challenge memory ch = IRoundSelection(address(rounds)).getChallenge(roundId, chunk);
            if (ch.bond == 0) continue;
            if (ch.status == ITrainingRounds.ChallengeStatus.Answered) rounds.settleBond(roundId, chunk);
            else if (ch.status == ITrainingRounds.ChallengeStatus.Pending && r.state == ITrainingRounds.RoundState.Failed) {
                rounds.reclaimBond(roundId, chunk);
            }
        }
    }

    /// The tasks' reserved emissions (active rounds).
    function reserved() external view returns (uint256 sum) {
        for (uint256 k = 0; k < 2; ++k) {
            uint256 active = IRoundSelection(address(rounds)).getTask(taskIds[k]).activeRound;
            if (active != 0) sum += IRoundSelection(address(rounds)).getRound(active).emission;
        }
    }
}

contract RoundGameInvariantTest is RoundsFixture {
    RoundGameHandler internal handler;
    uint256 internal honestStake;

    function setUp() public {
        _setUpRounds();
        handler = new RoundGameHandler(
            rounds,
            registry,
            [t1, t2],
            agg,
            t3,
            T3_KEY,
            WATCHER,
            [provenTaskId, unprovenTaskId]
        );
        _fundAndStake(t3, 2_000e18); // the adversary: enough stake to survive several slashes
        token.transfer(WATCHER, 10_000e18);
        vm.prank(WATCHER);
        token.approve(address(rounds), type(uint256).max);
        _setOptIn(t3, true); // the adversary competes for aggregator duty
        rounds.transferOwnership(address(handler));
        vm.prank(address(handler));
        rounds.acceptOwnership();
    }

    /// The handler really plays: rounds of both tasks run to the end, the adversary equivocates in both roles
    /// and is slashed, and the honest operators keep their stake.
    function test_handlerPlaysTheGame() public {
        for (uint256 k = 0; k < 4; ++k) {
            handler.open(k);
            handler.commit(k, 0, 100);
            handler.commit(k, 1, 300);
            handler.commit(k, 2, 600);
            handler.equivocate(k, k % 2 == 0, k < 2, k);
            handler.equivocate(k, k % 2 == 1, k >= 2, k + 7);
            handler.advance(61);
            handler.adversaryPost(k, k * 0x010203);
            handler.challenge(k, k);
            handler.advance(399);
            handler.advance(399);
            handler.advance(399);
            handler.advance(399);
            handler.settle(k);
        }
        assertEq(handler.equivocations(), 8, "slashed in both roles, any order");
        assertEq(handler.violations(), 0, "no violation");
        (uint256 tasks, uint256 opened) = selection.counts();
        assertEq(tasks, 2, "tasks");
        assertEq(opened, 4, "rounds");
        for (uint256 id = 1; id <= opened; ++id) {
            ITrainingRounds.RoundState state = IRoundSelection(address(rounds)).getRound(id).state;
            assertTrue(
                state == ITrainingRounds.RoundState.Finalized || state == ITrainingRounds.RoundState.Failed,
                "every round closed"
            );
        }
        invariant_honestNeverSlashed();
        invariant_solvent();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// No property checked inside an action failed: failed rounds paid only trainers who delivered, every
    /// equivocation cost at least its role's rate, and no owner call changed any stake.
    function invariant_checkedPropertiesHold() public view {
        assertEq(handler.violations(), 0, "violations");
    }

    /// Operators that follow the protocol (two trainers and an aggregator) are never slashed.
    function invariant_honestNeverSlashed() public view {
        assertEq(registry.slashableStake(agg), 1_000e18, "honest aggregator");
        assertEq(registry.slashableStake(t1), 200e18, "honest trainer 1");
        assertEq(registry.slashableStake(t2), 200e18, "honest trainer 2");
    }

    /// Two tasks at once: the token balance is exactly pools + reserved emissions + claimable + bonds.
    function invariant_solvent() public view {
        (, uint256 unclaimed, uint256 bonds) = rounds.totals();
        assertEq(token.balanceOf(address(rounds)), _pools() + handler.reserved() + unclaimed + bonds, "solvent");
    }
}
