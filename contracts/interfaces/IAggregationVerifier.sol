// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ILinkVerifier} from "./ILinkVerifier.sol";

/// @title IAggregationVerifier
/// @notice Checks a proof that one chunk of a round's aggregate is the correct (floor) weighted average of
/// the same chunk of the trainers' committed updates. `TrainingRounds` calls it when an aggregator answers a
/// chunk challenge, so the proof system can be replaced without touching round logic.
interface IAggregationVerifier {
    /// @notice Checks `proof` for chunk `chunkIndex`. The proof system may leave part of the check
    /// optimistic (for Groth16: which chunk hashes the trainers committed, and that the public input is the
    /// Poseidon hash of the statement; both cost more gas than the rest of the answer); it then returns that
    /// part as `statement` bytes, which `TrainingRounds` binds by digest and lets anyone dispute through
    /// `statementMismatch` until the round's dispute deadline.
    /// @param roundId the round the proof is bound to
    /// @param chunkIndex the chunk the proof is bound to
    /// @param numChunks the task's chunk count (fixes the depth of every Merkle opening)
    /// @param weights the accepted sample counts (0 = rejected / excluded), in commit order
    /// @param aggregateCommitment the aggregate's commitment posted by the aggregator
    /// @param proof opaque encoding owned by the verifier (Groth16 proof, claimed chunk hashes, an opening)
    /// @return valid false if the proof or an opening is wrong
    /// @return statement the disputable remainder (empty if nothing is left to dispute)
    function verifyChunk(
        uint256 roundId,
        uint256 chunkIndex,
        uint256 numChunks,
        uint64[] calldata weights,
        bytes32 aggregateCommitment,
        bytes calldata proof
    ) external view returns (bool valid, bytes memory statement);

    /// @notice The verifier of chained proofs that goes with this one: a proven round of more trainers than
    /// this verifier's fan-in (TrainingRounds.MAX_PROVEN_TRAINERS) is proven link by link through it. Fixed with
    /// this verifier, so queuing a verifier (RoundParams, delayed) changes both at once.
    /// @return the link verifier; zero if there is none (proven rounds then stay at the flat fan-in)
    function linkVerifier() external view returns (ILinkVerifier);

    /// @notice True iff `evidence` shows `statement` (bytes returned by an accepted `verifyChunk`) false.
    /// Only called when an answer is disputed.
    /// @param statement the accepted answer's statement
    /// @param trainerCommitments the round's trainer update commitments, in commit order
    /// @param numChunks the task's chunk count
    /// @param evidence verifier-specific (for Groth16: empty for the Poseidon check, or a trainer's opening)
    function statementMismatch(
        bytes calldata statement,
        bytes32[] calldata trainerCommitments,
        uint256 numChunks,
        bytes calldata evidence
    ) external view returns (bool);
}
