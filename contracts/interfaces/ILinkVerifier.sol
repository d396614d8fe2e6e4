// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title ILinkVerifier
/// @notice Checks one link of a chained aggregation proof (circuits/aggregate-link.circom, docs/scaling.md
/// "Chained proofs"): a proven round of N trainers is proven chunk by chunk in ceil(N / K) links of K trainers,
/// each carrying the running weighted sums (by their Poseidon hash) and the running total weight. With its
/// aggregate the aggregator commits the link root, a keccak Merkle root over one leaf per (chunk, link) cell,
/// `keccak256(abi.encode(sumOutHash, wOut))`, cell index `chunk * numLinks + link`. A challenge names a cell;
/// its answer proves that link and opens the link's output leaf and, for link > 0, the previous link's leaf
/// as its input, so a gap, an overlap or a forged running sum has no valid answer. Link 0 starts from zero
/// sums and weight; the last link's aggregate chunk hash opens against the aggregate commitment.
interface ILinkVerifier {
    /// @notice Where a link answer is checked: the round, the challenged cell and what the aggregator posted.
    struct LinkCell {
        uint256 roundId;
        uint256 chunkIndex;
        uint256 link;
        uint256 numChunks; // the task's chunk count
        uint256 numLinks; // ceil(trainers / K)
        bytes32 linkRoot; // posted with the aggregate
        bytes32 aggregateCommitment; // posted with the aggregate
    }

    /// @notice Trainers per link (the circuit's K): a round of N trainers has ceil(N / K) links per chunk.
    /// @return the fan-in of one link
    function LINK_TRAINERS() external view returns (uint256); // solhint-disable-line func-name-mixedcase

    /// @notice Checks `proof` for one cell. As for flat answers (IAggregationVerifier), part of the check is
    /// left optimistic: the trainers' claimed chunk hashes and the Poseidon statement hash come back as
    /// `statement`, which anyone may dispute with `statementMismatch`.
    /// @param cell the challenged cell and the round's posted roots
    /// @param linkWeights the accepted weights of the link's trainers, in commit order (K, fewer in the last link)
    /// @param proof opaque encoding owned by the verifier
    /// @return valid false if the proof, a weight or an opening is wrong
    /// @return statement the disputable remainder
    function verifyLink(
        LinkCell calldata cell,
        uint64[] calldata linkWeights,
        bytes calldata proof
    ) external view returns (bool valid, bytes memory statement);

    /// @notice True iff `evidence` shows `statement` (from an accepted `verifyLink`) false.
    /// @param statement the accepted answer's statement
    /// @param linkCommitments the update commitments of the link's trainers, in commit order
    /// @param numChunks the task's chunk count
    /// @param evidence empty (the Poseidon check) or a trainer's opening (its slot in the link, its committed
    /// chunk hash, the Merkle path)
    function statementMismatch(
        bytes calldata statement,
        bytes32[] calldata linkCommitments,
        uint256 numChunks,
        bytes calldata evidence
    ) external view returns (bool);
}
