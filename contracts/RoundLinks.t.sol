// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ILinkVerifier} from "./interfaces/ILinkVerifier.sol";
import {IRoundSelection} from "./interfaces/IRoundSelection.sol";
import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {RoundDriver} from "./test/RoundDriver.sol";
import {TestLinkVerifier} from "./test/TestLinkVerifier.sol";
import {NUM_CHUNKS, RoundsFixture} from "./test/RoundsFixture.sol";

/// @notice Issues #18 and #21: a proven task's round of any size is proven. Above the flat fan-in (8) it is
/// proven by chained proofs: the aggregator posts a link root, challenges name (chunk, link) cells, and each
/// answer goes through the verifier's link verifier with that link's weights (here TestLinkVerifier, which
/// binds a proof to exactly the cell, roots and weights it is given; real Groth16 proofs: test/zk/link-round.test.ts).
/// Written as the aggregator would attack: no link root, a lie in one link of 3, an answer for another cell.
contract RoundLinksTest is RoundsFixture {
    /// @dev 10 trainers: links of 4, 4 and 2 per chunk (K = 4).
    uint256 internal constant TRAINERS = 10;
    uint256 internal constant LINKS = 3;
    TestLinkVerifier internal linkVerifier;
    address[] internal trainers;

    function setUp() public {
        _setUpRounds();
        linkVerifier = new TestLinkVerifier();
        verifier.setLinkVerifier(linkVerifier);
        for (uint256 i = 0; i < TRAINERS; ++i) {
            address trainer = address(uint160(0xC000 + i));
            _fundAndStake(trainer, 100e18);
            trainers.push(trainer);
        }
        vm.roll(block.number + 1);
    }

    function _openAndCommitAll() internal returns (uint256 roundId) {
        roundId = rounds.openRound(taskId);
        for (uint256 i = 0; i < TRAINERS; ++i) {
            vm.prank(trainers[i]);
            rounds.commitUpdate(roundId, bytes32(0xC0 + i), 10 + i);
        }
        vm.warp(block.timestamp + 61);
        _select(roundId);
    }

    function _allWeights() internal pure returns (uint256[] memory w) {
        w = new uint256[](TRAINERS);
        for (uint256 i = 0; i < TRAINERS; ++i) w[i] = 10 + i;
    }

    function _postChained(uint256 roundId) internal {
        vm.startPrank(agg);
        selection.postLinkRoot(roundId, bytes32("links"));
        rounds.postAggregate(roundId, bytes32("agg"), bytes32("data"), _allWeights());
        vm.stopPrank();
        RoundDriver.draw(rounds, roundId, keccak256(abi.encode("samples", roundId)));
    }

    /// The proof TestLinkVerifier accepts for cell `cell` of `roundId`, with the link's weights.
    function _linkProof(uint256 roundId, uint256 cell) internal view returns (bytes32) {
        ITrainingRounds.Round memory r = selection.getRound(roundId);
        uint256 link = cell % r.numLinks;
        uint256 from = link * 4;
        uint256 to = from + 4 > TRAINERS ? TRAINERS : from + 4;
        uint64[] memory w = new uint64[](to - from);
        for (uint256 i = from; i < to; ++i) w[i - from] = r.weights[i];
        ILinkVerifier.LinkCell memory at = ILinkVerifier.LinkCell(
            roundId,
            cell / r.numLinks,
            link,
            r.numChunks,
            r.numLinks,
            r.linkRoot,
            r.aggregateCommitment
        );
        return linkVerifier.linkProofFor(at, w);
    }

    /// The statement a truthful 64-byte answer carries for `link`: the hash of that link's commitments.
    function _truthful(uint256 link) internal pure returns (bytes32) {
        uint256 from = link * 4;
        uint256 to = from + 4 > TRAINERS ? TRAINERS : from + 4;
        bytes32[] memory c = new bytes32[](to - from);
        for (uint256 i = from; i < to; ++i) c[i - from] = bytes32(0xC0 + i);
        return keccak256(abi.encode(c));
    }

    function _pendingCells(uint256 roundId) internal view returns (uint256[] memory cells, uint256 count) {
        cells = new uint256[](NUM_CHUNKS * LINKS);
        for (uint256 i = 0; i < NUM_CHUNKS * LINKS; ++i) {
            if (selection.getChallenge(roundId, i).status == ITrainingRounds.ChallengeStatus.Pending) cells[count++] = i;
        }
    }

    /// Without a link verifier a proven round stays at the flat fan-in; with one it takes more trainers.
    function test_linkVerifierLiftsTheProvenCap() public {
        verifier.setLinkVerifier(ILinkVerifier(address(0)));
        uint256 flat = rounds.openRound(taskId);
        for (uint256 i = 0; i < 9; ++i) {
            if (i == 8) vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.RoundFull.selector, 8));
            vm.prank(trainers[i]);
            rounds.commitUpdate(flat, bytes32(i + 1), 1);
        }
        vm.warp(block.timestamp + 61);
        _select(flat);
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotChained.selector, flat));
        selection.postLinkRoot(flat, bytes32("links")); // a flat round's challenges name chunks
        uint256[] memory w = new uint256[](8);
        w[0] = 1;
        vm.prank(agg);
        rounds.postAggregate(flat, bytes32("agg"), bytes32("data"), w);
        RoundDriver.draw(rounds, flat, keccak256("flat"));
        vm.warp(selection.getRound(flat).challengeDeadline + 1);
        (uint256[] memory cells, uint256 n) = _pendingCells(flat);
        for (uint256 i = 0; i < n; ++i) {
            bytes memory proof = _proof(flat, cells[i]);
            vm.prank(agg);
            rounds.answerChallenge(flat, cells[i], proof);
        }
        vm.warp(block.timestamp + 1);
        rounds.finalizeRound(flat);

        verifier.setLinkVerifier(linkVerifier);
        vm.warp(block.timestamp + 1);
        uint256 roundId = _openAndCommitAll();
        assertEq(selection.getRound(roundId).trainers.length, TRAINERS, "chained: maxTrainersPerRound");
    }

    /// Attack: the aggregator refuses to post a link root, so no cell could be answered. It cannot post its
    /// aggregate at all; the round then ends as a missed aggregation (slashed), never as an unproven round.
    function test_attack_noLinkRootCannotPost() public {
        uint256 roundId = _openAndCommitAll();
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.LinkRootMissing.selector, roundId));
        rounds.postAggregate(roundId, bytes32("agg"), bytes32("data"), _allWeights());
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.LinkRootMissing.selector, roundId));
        selection.postLinkRoot(roundId, bytes32(0));
        vm.prank(t1);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotAggregator.selector, t1));
        selection.postLinkRoot(roundId, bytes32("links"));
        uint256 stakeBefore = registry.activeStake(agg);
        vm.warp(selection.getRound(roundId).aggregateDeadline + 1);
        vm.prank(agg);
        vm.expectRevert();
        selection.postLinkRoot(roundId, bytes32("links"));
        rounds.reportMissedAggregation(roundId);
        assertTrue(registry.activeStake(agg) < stakeBefore, "missed aggregation slashed");
    }

    /// An honest chained round: the link root fixes 3 links per chunk, the samples and a bonded challenge
    /// name cells, each answered with its own link's proof; the round finalizes and pays all 10 trainers.
    function test_honestChainedRoundFinalizes() public {
        uint256 roundId = _openAndCommitAll();
        _postChained(roundId);
        ITrainingRounds.Round memory r = selection.getRound(roundId);
        assertEq(r.numLinks, LINKS, "ceil(10 / 4) links");
        assertTrue(r.linkRoot == bytes32("links"), "link root");
        vm.prank(WATCHER);
        vm.expectRevert(
            abi.encodeWithSelector(ITrainingRounds.InvalidChunk.selector, NUM_CHUNKS * LINKS, NUM_CHUNKS)
        );
        rounds.challenge(roundId, NUM_CHUNKS * LINKS); // past the last cell
        uint256 cell = 2 * LINKS + 2; // chunk 2, the short last link (2 trainers)
        if (selection.getChallenge(roundId, cell).status != ITrainingRounds.ChallengeStatus.None) cell = 2 * LINKS + 1;
        vm.startPrank(WATCHER);
        token.approve(address(rounds), BOND);
        rounds.challenge(roundId, cell);
        vm.stopPrank();
        (uint256[] memory cells, uint256 n) = _pendingCells(roundId);
        assertEq(n, 2, "one sampled cell and one bonded");
        for (uint256 i = 0; i < n; ++i) {
            bytes32 truthful = _truthful(cells[i] % LINKS); // the link's own commitments: not disputable
            bytes32 proof = _linkProof(roundId, cells[i]);
            vm.prank(agg);
            rounds.answerChallenge(roundId, cells[i], abi.encode(proof, truthful));
            vm.expectRevert(ITrainingRounds.StatementCorrect.selector);
            rounds.disputeStatement(roundId, cells[i], abi.encode(truthful), "");
        }
        _warpPastJudgement(roundId);
        rounds.finalizeRound(roundId);
        assertEq(uint8(selection.getRound(roundId).state), uint8(ITrainingRounds.RoundState.Finalized), "state");
        for (uint256 i = 0; i < TRAINERS; ++i) assertTrue(rounds.claimable(trainers[i]) > 0, "every trainer paid");
    }

    /// Attack: the aggregator lied in one link of 3 (its running sum at link 1 is not the trainers'). A
    /// challenge of that cell has no valid link proof: its best answer is refused and it is slashed.
    function test_attack_liarInOneLinkSlashed() public {
        uint256 roundId = _openAndCommitAll();
        _postChained(roundId);
        uint256 cell = 1 * LINKS + 1; // chunk 1, link 1
        if (selection.getChallenge(roundId, cell).status == ITrainingRounds.ChallengeStatus.None) {
            vm.startPrank(WATCHER);
            token.approve(address(rounds), BOND);
            rounds.challenge(roundId, cell);
            vm.stopPrank();
        }
        uint256 stakeBefore = registry.activeStake(agg);
        // Its proof of the other links is valid, but not for this cell: refused.
        bytes32 otherLink = _linkProof(roundId, 1 * LINKS + 0);
        vm.prank(agg);
        rounds.answerChallenge(roundId, cell, abi.encode(otherLink));
        assertEq(uint8(selection.getRound(roundId).state), uint8(ITrainingRounds.RoundState.Failed), "state");
        assertTrue(registry.activeStake(agg) < stakeBefore, "aggregator slashed");
        assertEq(uint8(selection.getChallenge(roundId, cell).status), uint8(ITrainingRounds.ChallengeStatus.Failed), "state");
    }

    /// Attack: the aggregator answers the liar's cell with a statement that claims other trainer hashes (the
    /// optimistic part of a link proof). The dispute checks it against that link's commitments only, and slashes.
    function test_attack_lyingLinkStatementDisputed() public {
        uint256 roundId = _openAndCommitAll();
        _postChained(roundId);
        uint256 cell = 3 * LINKS + 1;
        if (selection.getChallenge(roundId, cell).status == ITrainingRounds.ChallengeStatus.None) {
            vm.startPrank(WATCHER);
            token.approve(address(rounds), BOND);
            rounds.challenge(roundId, cell);
            vm.stopPrank();
        }
        bytes32 lie = _truthful(0); // link 0's trainers claimed for link 1
        bytes32 proof = _linkProof(roundId, cell);
        vm.prank(agg);
        rounds.answerChallenge(roundId, cell, abi.encode(proof, lie));
        uint256 stakeBefore = registry.activeStake(agg);
        vm.prank(WATCHER);
        rounds.disputeStatement(roundId, cell, abi.encode(lie), "");
        assertTrue(registry.activeStake(agg) < stakeBefore, "aggregator slashed");
        assertEq(uint8(selection.getRound(roundId).state), uint8(ITrainingRounds.RoundState.Failed), "state");
    }

    /// Attack: the aggregator answers a challenged cell with the proof of another cell of the same link (a
    /// replay across chunks), and answers a cell nobody challenged. Both are refused.
    function test_attack_answerForWrongCellRefused() public {
        uint256 roundId = _openAndCommitAll();
        _postChained(roundId);
        (uint256[] memory cells, ) = _pendingCells(roundId);
        uint256 sampled = cells[0];
        uint256 unchallenged = (sampled + 1) % (NUM_CHUNKS * LINKS);
        bytes32 unchallengedProof = _linkProof(roundId, unchallenged);
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NoPendingChallenge.selector, unchallenged));
        rounds.answerChallenge(roundId, unchallenged, abi.encode(unchallengedProof));
        bytes32 replayed = _linkProof(roundId, (sampled + LINKS) % (NUM_CHUNKS * LINKS)); // same link, next chunk
        uint256 stakeBefore = registry.activeStake(agg);
        vm.prank(agg);
        rounds.answerChallenge(roundId, sampled, abi.encode(replayed));
        assertTrue(registry.activeStake(agg) < stakeBefore, "aggregator slashed");
        assertEq(uint8(selection.getRound(roundId).state), uint8(ITrainingRounds.RoundState.Failed), "state");
    }
}
