// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {NUM_CHUNKS, RoundsFixture} from "./test/RoundsFixture.sol";
import {IRoundSelection} from "./interfaces/IRoundSelection.sol";

/// @notice Reporter front-running (issue #18): a reward-bearing report seen in the mempool and sent first by a
/// copier. The reporter share goes only to a report revealed after a commitment made in an earlier block
/// (commitReport(hash(reporter, salt, report)) then revealReport(salt, report)); a copied report sent directly
/// still slashes the offender but pays its sender nothing.
contract RoundReportsTest is RoundsFixture {
    address internal constant COPIER = address(0xC0FE);
    uint256 internal constant SLASH_OF_1000 = 500e18; // aggregatorSlashBps 50% of the aggregator's 1,000
    uint256 internal constant SHARE = 50e18; // the registry's 10% reporter share of that

    function setUp() public {
        _setUpRounds();
        _fundAndStake(COPIER, 200e18);
        token.transfer(COPIER, 1_000e18);
    }

    /// A round whose aggregator missed its deadline: anyone may report it.
    function _missedRound() internal returns (uint256 roundId) {
        roundId = _openAndCommit();
        vm.warp(IRoundSelection(address(rounds)).getRound(roundId).aggregateDeadline + 1);
    }

    /// The mempool copier sends the honest reporter's report first, directly: the offender is slashed, the
    /// copier earns nothing, and the honest reveal that follows finds the fault already reported.
    function test_attack_mempoolCopierOfAReportGetsNothing() public {
        uint256 roundId = _missedRound();
        bytes memory report = abi.encodeCall(ITrainingRounds.reportMissedAggregation, (roundId));
        bytes32 salt = keccak256("watcher's salt");
        bytes32 commitHash = selection.reportCommitHash(WATCHER, salt, report);
        vm.prank(WATCHER);
        selection.commitReport(commitHash);
        vm.roll(block.number + 1);
        // The copier sees the reveal (salt and report) in the mempool and front-runs it.
        uint256 copierBefore = token.balanceOf(COPIER) + rounds.claimable(COPIER);
        vm.prank(COPIER);
        vm.expectRevert(); // the commitment names WATCHER: the copier cannot reveal it as its own
        selection.revealReport(salt, report);
        vm.prank(COPIER);
        rounds.reportMissedAggregation(roundId);
        assertEq(token.balanceOf(COPIER) + rounds.claimable(COPIER), copierBefore, "the copier earns nothing");
        assertEq(registry.slashableStake(agg), 1_000e18 - SLASH_OF_1000, "the offender is slashed anyway");
        vm.prank(WATCHER);
        vm.expectRevert(); // already reported: the round is Failed
        selection.revealReport(salt, report);
    }

    /// The committed reporter reveals at least a block later and gets the reporter share.
    function test_revealedReportPaysItsCommitter() public {
        uint256 roundId = _missedRound();
        bytes memory report = abi.encodeCall(ITrainingRounds.reportMissedAggregation, (roundId));
        bytes32 salt = keccak256("salt");
        bytes32 commitHash = selection.reportCommitHash(WATCHER, salt, report);
        vm.prank(WATCHER);
        selection.commitReport(commitHash);
        vm.prank(WATCHER);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.ReportNotCommitted.selector, commitHash));
        selection.revealReport(salt, report); // same block as the commitment: not yet
        vm.roll(block.number + 1);
        uint256 before = token.balanceOf(WATCHER);
        vm.prank(WATCHER);
        selection.revealReport(salt, report);
        assertEq(token.balanceOf(WATCHER) - before, SHARE, "reporter share to the committer");
        assertEq(selection.reportCommitBlock(commitHash), 0, "the commitment is spent");
    }

    /// Only reward-bearing reports can be revealed: the reveal cannot run any other call as the caller.
    function test_revealRunsReportsOnly() public {
        uint256 roundId = _missedRound();
        bytes[2] memory notReports = [
            abi.encodeCall(ITrainingRounds.finalizeRound, (roundId)),
            abi.encodeCall(ITrainingRounds.claim, ())
        ];
        for (uint256 i = 0; i < notReports.length; ++i) {
            bytes32 salt = bytes32(i);
            bytes32 commitHash = selection.reportCommitHash(WATCHER, salt, notReports[i]);
            vm.prank(WATCHER);
            selection.commitReport(commitHash);
            vm.roll(block.number + 1);
            vm.prank(WATCHER);
            vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotAReport.selector, bytes4(notReports[i])));
            selection.revealReport(salt, notReports[i]);
        }
    }

    /// A bonded challenge copied from the mempool: the copier's chunk fails, it gets its bond back but no
    /// reporter share; a revealed challenge on another chunk earns it.
    function test_attack_copiedChallengeEarnsNoShare() public {
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        uint256 sampled = _sampledChunk(roundId);
        uint256 copied = (sampled + 1) % NUM_CHUNKS;
        vm.startPrank(COPIER);
        token.approve(address(rounds), BOND);
        rounds.challenge(roundId, copied); // sent directly, ahead of the watcher's reveal
        vm.stopPrank();
        vm.warp(IRoundSelection(address(rounds)).getChallenge(roundId, copied).answerDeadline + 1);
        uint256 before = token.balanceOf(COPIER);
        rounds.resolveUnansweredChallenge(roundId, copied);
        assertEq(token.balanceOf(COPIER), before, "no reporter share for a copied challenge");
        assertEq(rounds.claimable(COPIER), BOND, "its bond back, nothing more");
    }

    /// The same challenge revealed after a commitment: the challenger gets the reporter share when it fails,
    /// whoever resolves it.
    function test_revealedChallengeEarnsTheShare() public {
        uint256 roundId = _openAndCommit();
        _post(roundId, _weights(100, 300, 600));
        uint256 chunk = (_sampledChunk(roundId) + 1) % NUM_CHUNKS;
        vm.prank(WATCHER);
        token.approve(address(rounds), BOND);
        _commitAndReveal(WATCHER, abi.encodeCall(ITrainingRounds.challenge, (roundId, chunk)));
        assertTrue(IRoundSelection(address(rounds)).getChallenge(roundId, chunk).revealed, "revealed");
        vm.warp(IRoundSelection(address(rounds)).getChallenge(roundId, chunk).answerDeadline + 1);
        uint256 before = token.balanceOf(WATCHER);
        vm.prank(COPIER);
        rounds.resolveUnansweredChallenge(roundId, chunk);
        assertEq(token.balanceOf(WATCHER) - before, SHARE, "reporter share to the revealed challenger");
        assertEq(rounds.claimable(WATCHER), BOND, "and its bond");
    }
}
