// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Fixture} from "./Fixture.sol";
import {IRoundSelection} from "../interfaces/IRoundSelection.sol";
import {ITrainingRounds} from "../interfaces/ITrainingRounds.sol";
import {RoundDriver} from "./RoundDriver.sol";

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
        taskId = rounds.createTask(_taskConfig(bytes32("model0"), NUM_CHUNKS, REWARD, 60, 60, 120, 0));
        ITrainingRounds.TaskConfig memory unproven = _taskConfig(bytes32("model0"), NUM_CHUNKS, REWARD, 60, 60, 120, 0);
        unproven.proven = false;
        unproven.ruleId = 1;
        unprovenTaskId = rounds.createTask(unproven);
        provenTaskId = taskId;
        _setOptIn(agg, true);
        token.approve(address(rounds), 20 * REWARD);
        rounds.fundTask(taskId, 10 * REWARD);
        rounds.fundTask(unprovenTaskId, 10 * REWARD);
        vm.roll(block.number + 1); // stakes are history before the first round opens
    }

    /// `operator` opts in or out of aggregator duty for both fixture tasks (candidates volunteer per task).
    function _setOptIn(address operator, bool optIn) internal {
        vm.startPrank(operator);
        selection.setAggregatorOptIn(taskId, optIn);
        selection.setAggregatorOptIn(unprovenTaskId, optIn);
        vm.stopPrank();
    }

    /// `operator` volunteers to aggregate task `task`'s rounds.
    function _optInTo(address operator, uint256 task) internal {
        vm.prank(operator);
        selection.setAggregatorOptIn(task, true);
    }

    /// Locks and selects with a round-specific prevrandao; the aggregator (zero if the round closed).
    function _select(uint256 roundId) internal returns (address) {
        return RoundDriver.select(rounds, roundId, keccak256(abi.encode("mix", roundId)));
    }

    function _openAndCommit() internal returns (uint256 roundId) {
        roundId = _openAndCommitTo(taskId);
        _select(roundId);
    }

    /// Opens a round of `task`, commits t1, t2 and t3 (100, 300 and 600 samples) and closes the commit window.
    function _openAndCommitTo(uint256 task) internal returns (uint256 roundId) {
        roundId = rounds.openRound(task);
        vm.prank(t1);
        rounds.commitUpdate(roundId, bytes32("c1"), 100);
        vm.prank(t2);
        rounds.commitUpdate(roundId, bytes32("c2"), 300);
        vm.prank(t3);
        rounds.commitUpdate(roundId, bytes32("c3"), 600);
        vm.warp(block.timestamp + 61);
    }

    /// Lets the round's aggregator miss its deadline and reports it as `reporter`; if its backup took over, lets
    /// the backup miss too and reports that: the round fails with nothing posted.
    function _missUntilFailed(uint256 roundId, address reporter) internal {
        for (uint256 i = 0; i < 2; ++i) {
            ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
            if (r.state != ITrainingRounds.RoundState.Aggregating) return;
            if (block.timestamp <= r.aggregateDeadline) vm.warp(r.aggregateDeadline + 1);
            vm.prank(reporter);
            rounds.reportMissedAggregation(roundId);
        }
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
