// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ILinkVerifier} from "../interfaces/ILinkVerifier.sol";

/// @title TestLinkVerifier
/// @notice A stand-in for LinkAggregationVerifier in round-logic tests (the real one needs Groth16 proofs,
/// test/zk/link-round.test.ts): a proof is valid iff it is `linkProofFor(cell, linkWeights)`, so a test sees
/// exactly which cell, roots and weights TrainingRounds passed; a 64-byte proof (that binding, then a claim
/// word) is accepted with the claim as its statement, disputable iff the claim is not the hash of the
/// link's commitments.
contract TestLinkVerifier is ILinkVerifier {
    /// @inheritdoc ILinkVerifier
    uint256 public constant LINK_TRAINERS = 4;

    /// @notice The proof this verifier accepts for `cell` and `linkWeights`.
    function linkProofFor(LinkCell calldata cell, uint64[] calldata linkWeights) public pure returns (bytes32) {
        return keccak256(abi.encode(cell, linkWeights));
    }

    /// @inheritdoc ILinkVerifier
    function verifyLink(
        LinkCell calldata cell,
        uint64[] calldata linkWeights,
        bytes calldata proof
    ) external pure returns (bool valid, bytes memory statement) {
        bytes32 expected = linkProofFor(cell, linkWeights);
        if (proof.length == 32 && bytes32(proof) == expected) return (true, "");
        if (proof.length == 64 && bytes32(proof[:32]) == expected) return (true, proof[32:]);
        return (false, "");
    }

    /// @inheritdoc ILinkVerifier
    /// @dev The claim is false iff it is not the hash of the commitments passed: a test sees that the round
    /// passed exactly the challenged link's commitments.
    function statementMismatch(
        bytes calldata statement,
        bytes32[] calldata linkCommitments,
        uint256,
        bytes calldata
    ) external pure returns (bool) {
        return statement.length == 32 && bytes32(statement) != keccak256(abi.encode(linkCommitments));
    }
}
