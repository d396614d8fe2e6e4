// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IAggregationVerifier
/// @notice Checks a proof that one chunk of a round's aggregate is the correct (norm-clipped, floor)
/// weighted average of the same chunk of the trainers' committed updates. `TrainingRounds` calls it when an
/// aggregator answers a chunk challenge, so the proof system can be replaced without touching round logic.
interface IAggregationVerifier {
    /// @notice True iff `proof` shows that chunk `chunkIndex` of `aggregateCommitment` is the correct
    /// (norm-clipped, floor) weighted average of the same chunk of the trainers' committed updates.
    /// @param roundId the round the proof is bound to
    /// @param chunkIndex the chunk the proof is bound to
    /// @param trainerCommitments the round's trainer update commitments, in commit order
    /// @param weights the accepted sample counts (0 = rejected / excluded), same order
    /// @param aggregateCommitment the aggregate's commitment posted by the aggregator
    /// @param proof opaque encoding owned by the verifier (Groth16 proof + Merkle openings)
    function verifyChunk(
        uint256 roundId,
        uint256 chunkIndex,
        bytes32[] calldata trainerCommitments,
        uint256[] calldata weights,
        bytes32 aggregateCommitment,
        bytes calldata proof
    ) external view returns (bool);
}
