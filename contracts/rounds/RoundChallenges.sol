// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ILinkVerifier} from "../interfaces/ILinkVerifier.sol";
import {RoundsBase} from "./RoundsBase.sol";

/// @title RoundChallenges
/// @notice The challenge game on a proven round's aggregate: sampled and bonded chunk challenges (opened by
/// `challenge`, which runs in RoundsExtension: ChallengeExtension), answers
/// checked by the round's verifier, disputes of answered statements, and the bonds' settlement. A failed
/// challenge slashes the aggregator and fails the round. Every challenge gets a full answer window of its
/// own (deadlines are spaced one window apart), so a flood cannot make an honest aggregator miss; an
/// answered challenge forfeits its bond (at least emission / 8), so a flood costs the flooder; at most
/// MAX_CHALLENGES_PER_ROUND challenges per round: a round that reaches it is contested, its model does not
/// advance, nobody is slashed, and its trainers and aggregator are paid as if it finalized. None of it is paused.
abstract contract RoundChallenges is RoundsBase {
    /// @notice The aggregator answers a chunk challenge with a proof checked by the round's verifier. A valid
    /// proof settles the challenge, except for the statement the verifier leaves optimistic (for Groth16: the
    /// trainers' chunk hashes and the Poseidon public input): its digest is stored, the statement is emitted,
    /// and anyone holding evidence may `disputeStatement` it until the round's dispute deadline (answer time +
    /// the task's `disputeWindow`), which `finalizeRound` waits for. The dispute window is the task's own: a
    /// watcher's check is a hash and a Merkle opening, far shorter than the proof the answer window must hold,
    /// so a round is not made longer by the aggregator's proving headroom.
    /// An invalid proof slashes the aggregator and fails the round. The challenger's bond stays held until
    /// the round closes (`settleBond`).
    /// @param roundId the round
    /// @param chunkIndex the pending chunk
    /// @param proof the verifier's proof encoding
    function answerChallenge(uint256 roundId, uint256 chunkIndex, bytes calldata proof) external nonReentrant {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, RoundState.Challenging);
        if (msg.sender != round.aggregator) revert NotAggregator(msg.sender);
        Challenge storage ch = _challenges[roundId][chunkIndex];
        if (ch.status != ChallengeStatus.Pending) revert NoPendingChallenge(chunkIndex);
        if (block.timestamp > ch.answerDeadline) revert DeadlinePassed(ch.answerDeadline);
        (bool valid, bytes memory statement) = round.numLinks == 0
            ? round.verifier.verifyChunk(
                roundId,
                chunkIndex,
                round.numChunks,
                round.weights,
                round.aggregateCommitment,
                proof
            )
            : _verifyLink(roundId, round, chunkIndex, proof);
        round.pendingChallenges -= 1;
        if (!valid) {
            _failChallenge(roundId, round, chunkIndex, ch, ch.challenger);
            return;
        }
        ch.status = ChallengeStatus.Answered;
        if (statement.length != 0) {
            ch.statementDigest = bytes23(keccak256(statement));
            uint64 disputeDeadline = uint64(block.timestamp + round.disputeWindow);
            if (disputeDeadline > round.disputeDeadline) round.disputeDeadline = disputeDeadline;
        }
        emit ChallengeAnswered(roundId, chunkIndex, statement);
    }

    /// @notice Shows that an answered challenge's statement is false, which makes the accepted proof
    /// worthless: slashes the aggregator and fails the round; the caller is the reporter and the challenger's
    /// bond is returned. For Groth16 the `evidence` is either empty (the public input is not the Poseidon hash
    /// of the statement's chunk hashes, weights, round and chunk) or a Merkle opening of a weighted trainer's
    /// committed chunk hash that differs from the one the statement claims (docs §5). `statement` is the
    /// `ChallengeAnswered` event's bytes. Anyone may call until the round's dispute deadline. Reverts
    /// `StatementCorrect` if the evidence does not show the statement false.
    /// @param roundId the round
    /// @param chunkIndex the answered chunk
    /// @param statement the answer's statement bytes, as emitted
    /// @param evidence what shows the statement false (verifier-specific)
    function disputeStatement(
        uint256 roundId,
        uint256 chunkIndex,
        bytes calldata statement,
        bytes calldata evidence
    ) external nonReentrant {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, RoundState.Challenging);
        Challenge storage ch = _challenges[roundId][chunkIndex];
        if (ch.status != ChallengeStatus.Answered || ch.statementDigest == bytes23(0)) {
            revert NoPendingChallenge(chunkIndex);
        }
        if (block.timestamp > round.disputeDeadline) revert DeadlinePassed(round.disputeDeadline);
        if (bytes23(keccak256(statement)) != ch.statementDigest) revert InvalidEvidence();
        if (!_mismatch(round, chunkIndex, statement, evidence)) revert StatementCorrect();
        emit StatementDisputed(roundId, chunkIndex, msg.sender);
        _failChallenge(roundId, round, chunkIndex, ch, _reporter(round.aggregator));
    }

    /// @notice Pays out an answered challenge's bond once its round closed. The answer stood, so the bond is
    /// forfeited either way: to the aggregator if the round finalized (it paid for the proof), to the task's
    /// pool if the round failed through another chunk or was contested (not back to the challenger: a flood
    /// of challenges must cost the flooder even when one answer fails). Anyone may call.
    /// @param roundId the closed round
    /// @param chunkIndex the answered, bonded chunk
    function settleBond(uint256 roundId, uint256 chunkIndex) external nonReentrant {
        Round storage round = _rounds[roundId];
        Challenge storage ch = _challenges[roundId][chunkIndex];
        uint256 bond = ch.bond;
        if (ch.status != ChallengeStatus.Answered || bond == 0) revert NothingToSettle(chunkIndex);
        address to;
        if (round.state == RoundState.Finalized) to = round.aggregator;
        else if (round.state != RoundState.Failed) revert WrongState(roundId, round.state);
        ch.bond = 0;
        emit BondSettled(roundId, chunkIndex, to, bond);
        if (to != address(0)) {
            _credit(roundId, to, bond, true);
        } else {
            _totalBonds -= bond;
            _tasks[round.taskId].rewardPool += bond;
        }
    }

    /// @notice After a challenge's answer deadline passed without an answer, slashes the aggregator and fails
    /// the round. Anyone may call; the reporter is the challenger if it revealed its challenge, or for a sampled
    /// chunk a caller revealing this report (`revealReport`), never
    /// the aggregator itself.
    /// @param roundId the round
    /// @param chunkIndex the pending chunk past its answer deadline
    function resolveUnansweredChallenge(uint256 roundId, uint256 chunkIndex) external nonReentrant {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, RoundState.Challenging);
        Challenge storage ch = _challenges[roundId][chunkIndex];
        if (ch.status != ChallengeStatus.Pending) revert NoPendingChallenge(chunkIndex);
        if (block.timestamp <= ch.answerDeadline) revert DeadlineNotReached(ch.answerDeadline);
        round.pendingChallenges -= 1;
        // A bonded chunk's share is its challenger's if it revealed the challenge (a copied challenge earns
        // none); a sampled chunk's goes to a caller revealing this report.
        address reporter = ch.challenger == address(0) ? _reporter(round.aggregator) : address(0);
        if (ch.revealed) reporter = ch.challenger;
        _failChallenge(roundId, round, chunkIndex, ch, reporter);
    }

    /// @notice Returns the bond of a challenge left pending when its round failed through another chunk's
    /// challenge (the round can no longer be answered). Anyone may call; the bond goes to the challenger.
    /// @param roundId the failed round
    /// @param chunkIndex the chunk whose challenge is still pending
    function reclaimBond(uint256 roundId, uint256 chunkIndex) external nonReentrant {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, RoundState.Failed);
        Challenge storage ch = _challenges[roundId][chunkIndex];
        if (ch.status != ChallengeStatus.Pending) revert NoPendingChallenge(chunkIndex);
        ch.status = ChallengeStatus.Failed;
        round.pendingChallenges -= 1;
        if (ch.bond != 0) _credit(roundId, ch.challenger, ch.bond, true);
    }

    /// @dev A link answer (chained proofs): the round's verifier's link verifier checks the cell
    /// `chunk * numLinks + link` against the posted link root and aggregate, with the link's weights.
    function _verifyLink(
        uint256 roundId,
        Round storage round,
        uint256 cell,
        bytes calldata proof
    ) private view returns (bool, bytes memory) {
        ILinkVerifier linkVerifier = round.verifier.linkVerifier();
        uint256 numLinks = round.numLinks;
        uint256 link = cell % numLinks;
        (uint256 from, uint256 to) = _linkSlice(round, linkVerifier, link);
        uint64[] memory weights = new uint64[](to - from);
        for (uint256 i = from; i < to; ++i) weights[i - from] = round.weights[i];
        ILinkVerifier.LinkCell memory at = ILinkVerifier.LinkCell(
            roundId,
            cell / numLinks,
            link,
            round.numChunks,
            numLinks,
            round.linkRoot,
            round.aggregateCommitment
        );
        return linkVerifier.verifyLink(at, weights, proof);
    }

    /// @dev Whether `evidence` shows an answered statement false: against all commitments for a flat answer,
    /// against the link's own for a link answer.
    function _mismatch(
        Round storage round,
        uint256 cell,
        bytes calldata statement,
        bytes calldata evidence
    ) private view returns (bool) {
        if (round.numLinks == 0) {
            return round.verifier.statementMismatch(statement, round.commitments, round.numChunks, evidence);
        }
        ILinkVerifier linkVerifier = round.verifier.linkVerifier();
        (uint256 from, uint256 to) = _linkSlice(round, linkVerifier, cell % round.numLinks);
        bytes32[] memory commitments = new bytes32[](to - from);
        for (uint256 i = from; i < to; ++i) commitments[i - from] = round.commitments[i];
        return linkVerifier.statementMismatch(statement, commitments, round.numChunks, evidence);
    }

    /// @dev The trainers of link `link`, in commit order: [link * K, min(trainers, link * K + K)).
    function _linkSlice(
        Round storage round,
        ILinkVerifier linkVerifier,
        uint256 link
    ) private view returns (uint256 from, uint256 to) {
        uint256 k = linkVerifier.LINK_TRAINERS();
        from = link * k;
        to = from + k;
        if (to > round.trainers.length) to = round.trainers.length;
    }

    /// @dev Fails a challenge that is no longer counted in `pendingChallenges` (callers decrement it).
    function _failChallenge(
        uint256 roundId,
        Round storage round,
        uint256 chunkIndex,
        Challenge storage ch,
        address reporter
    ) private {
        ch.status = ChallengeStatus.Failed;
        address aggregator = round.aggregator;
        if (reporter == aggregator) reporter = address(0); // no reward for reporting yourself
        emit ChallengeFailed(roundId, chunkIndex, reporter);
        uint256 bond = ch.bond;
        if (bond != 0) {
            ch.bond = 0;
            _credit(roundId, ch.challenger, bond, true);
        }
        bytes32 evidence = keccak256(abi.encode(roundId, chunkIndex, round.aggregateCommitment));
        // Slash first: what was taken bounds what the failed round may pay its trainers. The registry is the
        // fixed, trusted slasher target and every entry point here is nonReentrant.
        uint256 slashed = _slashShare(
            aggregator,
            _paramsOf(round).aggregatorSlashBps,
            REASON_WRONG_AGGREGATE,
            evidence,
            reporter
        );
        _closeFailedAfterSlash(roundId, round, slashed);
    }
}
