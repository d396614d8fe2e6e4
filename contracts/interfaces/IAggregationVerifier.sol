// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IAggregationVerifier
/// @notice Checks a proof that one chunk of a round's aggregate is the correct (norm-clipped, floor)
/// weighted average of the same chunk of the trainers' committed updates. `TrainingRounds` calls it when an
/// aggregator answers a chunk challenge, so the proof system can be replaced without touching round logic.
interface IAggregationVerifier {
    /// @notice Checks `proof` for chunk `chunkIndex` against the on-chain commitments. The proof system may
    /// leave one part of the check optimistic (for Groth16: that the public input is the Poseidon hash of the
    /// opened statement, which costs more gas than the rest of the answer); it then returns that part as
    /// `statement` bytes, which `TrainingRounds` binds by keccak and lets anyone dispute through
    /// `statementMismatch` until the round's dispute deadline.
    /// @param roundId the round the proof is bound to
    /// @param chunkIndex the chunk the proof is bound to
    /// @param trainerCommitments the round's trainer update commitments, in commit order
    /// @param weights the accepted sample counts (0 = rejected / excluded), same order
    /// @param aggregateCommitment the aggregate's commitment posted by the aggregator
    /// @param proof opaque encoding owned by the verifier (Groth16 proof + Merkle openings)
    /// @return valid false if the proof or an opening is wrong
    /// @return statement the disputable remainder (empty if nothing is left to dispute)
    function verifyChunk(
        uint256 roundId,
        uint256 chunkIndex,
        bytes32[] calldata trainerCommitments,
        uint256[] calldata weights,
        bytes32 aggregateCommitment,
        bytes calldata proof
    ) external view returns (bool valid, bytes memory statement);

    /// @notice True iff `statement` (bytes returned by an accepted `verifyChunk`) is false: for Groth16, the
    /// public input the proof was checked against is not the Poseidon hash of the opened inputs. Expensive:
    /// only called when an answer is disputed.
    function statementMismatch(bytes calldata statement) external view returns (bool);
}
