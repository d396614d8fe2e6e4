// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAggregationVerifier} from "../interfaces/IAggregationVerifier.sol";
import {ILinkVerifier} from "../interfaces/ILinkVerifier.sol";

/// @title TestAggregationVerifier
/// @notice TEST ONLY. Accepts a "proof" equal to the keccak binding of every public input, so round logic can
/// be tested (right proof, wrong chunk, wrong round, wrong weights) without Groth16 proofs.
/// It proves nothing about the aggregate and must never be deployed outside tests.
contract TestAggregationVerifier is IAggregationVerifier {
    /// @inheritdoc IAggregationVerifier
    /// @dev Zero unless a test sets one: proven rounds then stay at the flat fan-in, as on a chain without
    /// chained proofs.
    ILinkVerifier public linkVerifier;

    /// @notice Test-only: the link verifier rounds opened from now on use (zero: none).
    function setLinkVerifier(ILinkVerifier linkVerifier_) external {
        linkVerifier = linkVerifier_;
    }

    /// @inheritdoc IAggregationVerifier
    function verifyChunk(
        uint256 roundId,
        uint256 chunkIndex,
        uint256 numChunks,
        uint64[] calldata weights,
        bytes32 aggregateCommitment,
        bytes calldata proof
    ) external pure returns (bool valid, bytes memory statement) {
        bytes32 expected = keccak256(abi.encode(roundId, chunkIndex, numChunks, weights, aggregateCommitment));
        if (proof.length == 32 && bytes32(proof) == expected) return (true, "");
        // A 64-byte proof (binding, then a claim word) is accepted optimistically: the claim is the
        // "statement", false (disputable) iff it is non-zero. Lets round tests drive the dispute path.
        if (proof.length == 64 && bytes32(proof[:32]) == expected) return (true, proof[32:]);
        return (false, "");
    }

    /// @inheritdoc IAggregationVerifier
    /// @dev A non-zero claim is false whatever the evidence; a zero claim is true.
    function statementMismatch(
        bytes calldata statement,
        bytes32[] calldata,
        uint256,
        bytes calldata
    ) external pure returns (bool) {
        return statement.length == 32 && bytes32(statement) != bytes32(0);
    }
}
