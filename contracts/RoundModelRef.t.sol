// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {RoundDriver} from "./test/RoundDriver.sol";
import {NUM_CHUNKS, RoundsFixture} from "./test/RoundsFixture.sol";
import {IRoundSelection} from "./interfaces/IRoundSelection.sol";

/// @notice The new model is bound to the proven aggregate (issue #18, bench:attacks "wrong modelRef"): the chain
/// derives the next model's ref from the base model, the aggregate's commitment and the round; the aggregator
/// names only where the aggregate's bytes are (`aggregateData`), which cannot change the model.
contract RoundModelRefTest is RoundsFixture {
    function setUp() public {
        _setUpRounds();
    }

    /// The ref the contract must derive: keccak(base, aggregate, round) with the round ID in its low 64 bits.
    function _expected(bytes32 base, bytes32 aggregate, uint256 roundId) internal pure returns (bytes32) {
        uint256 h = uint256(keccak256(abi.encode(base, aggregate, roundId)));
        return bytes32(((h >> 64) << 64) | roundId);
    }

    /// Plays a round whose aggregate is honest (every sampled chunk answered) with `claimed` as the aggregator's
    /// chosen third argument; returns the task's model after finalizing.
    function _honestRound(bytes32 claimed) internal returns (uint256 roundId, bytes32 model) {
        roundId = _openAndCommit();
        vm.prank(agg);
        rounds.postAggregate(roundId, bytes32("agg"), claimed, _weights(100, 300, 600));
        _answerSamples(roundId);
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).challengeDeadline + 1);
        rounds.finalizeRound(roundId);
        model = IRoundSelection(address(rounds)).getTask(taskId).modelRef;
    }

    function _answerSamples(uint256 roundId) internal {
        _drawSamples(roundId);
        for (uint256 c = 0; c < NUM_CHUNKS; ++c) {
            if (IRoundSelection(address(rounds)).getChallenge(roundId, c).status != ITrainingRounds.ChallengeStatus.Pending) continue;
            bytes memory proof = _proof(roundId, c);
            vm.prank(agg);
            rounds.answerChallenge(roundId, c, proof);
        }
    }

    function _drawSamples(uint256 roundId) internal {
        RoundDriver.draw(rounds, roundId, keccak256(abi.encode("samples", roundId)));
    }

    /// Exploit: an aggregator posting an honest aggregate and naming "its" model (the old `modelRef` argument)
    /// finalizes a model derived from the aggregate, never the name it chose.
    function test_aggregatorCannotNameTheModel() public {
        bytes32 evil = keccak256("the attacker's model");
        (uint256 roundId, bytes32 model) = _honestRound(evil);
        assertTrue(model != evil, "the attacker's name is not the task's model");
        assertTrue(model == _expected(bytes32("model0"), bytes32("agg"), roundId), "derived from base and aggregate");
        assertTrue(IRoundSelection(address(rounds)).getRound(roundId).modelRef == model, "the round names the same model");
        assertEq(uint64(uint256(model)), roundId, "the ref names its round");
    }

    /// Whatever data pointer the aggregator posts, the same base and aggregate make the same model; the next
    /// round's base is that model, so the chain of refs follows the chain of proven aggregates.
    function testFuzz_modelIndependentOfAggregatorClaim(bytes32 claimA, bytes32 claimB) public {
        uint256 snapshot = vm.snapshotState();
        (uint256 roundA, bytes32 modelA) = _honestRound(claimA);
        vm.revertToState(snapshot);
        (uint256 roundB, bytes32 modelB) = _honestRound(claimB);
        assertEq(roundA, roundB, "same round");
        assertTrue(modelA == modelB, "the claim does not move the model");
        vm.warp(IRoundSelection(address(rounds)).getTask(taskId).nextOpenTime);
        uint256 next = rounds.openRound(taskId);
        assertTrue(IRoundSelection(address(rounds)).getRound(next).baseModelRef == modelB, "the next round trains the derived model");
    }

    /// A different aggregate makes a different model, and a failed round's model is never adopted.
    function test_failedRoundKeepsTheBase() public {
        uint256 roundId = _openAndCommit();
        vm.prank(agg);
        rounds.postAggregate(roundId, bytes32("agg"), bytes32("x"), _weights(100, 300, 600));
        _drawSamples(roundId);
        uint256 chunk;
        while (IRoundSelection(address(rounds)).getChallenge(roundId, chunk).status != ITrainingRounds.ChallengeStatus.Pending) ++chunk;
        bytes memory wrong = _proof(roundId, (chunk + 1) % NUM_CHUNKS);
        vm.prank(agg);
        rounds.answerChallenge(roundId, chunk, wrong);
        assertTrue(IRoundSelection(address(rounds)).getTask(taskId).modelRef == bytes32("model0"), "failed round: base kept");
    }
}
