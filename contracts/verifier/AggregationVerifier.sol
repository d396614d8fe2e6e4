// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAggregationVerifier} from "../interfaces/IAggregationVerifier.sol";

/// @notice The generated Groth16 verifier of circuits/aggregate.circom (11 public signals).
interface IGroth16Verifier {
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[11] calldata pubSignals
    ) external view returns (bool);
}

/// @title AggregationVerifier
/// @notice Checks a chunk challenge answer: opens each trainer's chunk hash and the aggregate's chunk hash
/// against their on-chain commitments (keccak Merkle roots) and verifies the Groth16 proof that the aggregate
/// chunk is the floor-weighted average of the trainers' chunks with the on-chain weights. See
/// docs/protocol.md §4-5.
/// @dev Proof bytes: abi.encode(uint256[2] a, uint256[2][2] b, uint256[2] c, bytes32[] trainerChunkHashes,
/// bytes32 aggregateChunkHash, bytes32[][] trainerPaths, bytes32[] aggregatePath).
contract AggregationVerifier is IAggregationVerifier {
    /// @notice Trainers per proof (the circuit's fan-in).
    uint256 public constant PROOF_TRAINERS = 8;
    /// @notice Bits per packed weight in the circuit.
    uint256 public constant WEIGHT_BITS = 16;

    /// @notice The generated Groth16 verifier.
    IGroth16Verifier public immutable groth16;
    /// @notice Poseidon hash of a chunk of encoded zeros, used for unused trainer slots (weight 0).
    uint256 public immutable paddingChunkHash;

    /// @param groth16_ the generated verifier
    /// @param paddingChunkHash_ Poseidon hash of a padding chunk (node/proofs `paddingChunkHash()`)
    constructor(IGroth16Verifier groth16_, uint256 paddingChunkHash_) {
        groth16 = groth16_;
        paddingChunkHash = paddingChunkHash_;
    }

    struct Decoded {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
        bytes32[] trainerChunkHashes;
        bytes32 aggregateChunkHash;
        bytes32[][] trainerPaths;
        bytes32[] aggregatePath;
    }

    /// @inheritdoc IAggregationVerifier
    function verifyChunk(
        uint256 roundId,
        uint256 chunkIndex,
        bytes32[] calldata trainerCommitments,
        uint256[] calldata weights,
        bytes32 aggregateCommitment,
        bytes calldata proof
    ) external view returns (bool) {
        uint256 n = trainerCommitments.length;
        if (n == 0 || n > PROOF_TRAINERS || weights.length != n || roundId >= 2 ** 200 || chunkIndex >= 2 ** 32) {
            return false;
        }
        Decoded memory d = _decode(proof);
        if (d.trainerChunkHashes.length != n || d.trainerPaths.length != n) return false;
        if (_root(d.aggregateChunkHash, chunkIndex, d.aggregatePath) != aggregateCommitment) return false;
        (bool ok, uint256[11] memory signals) = _signals(d, chunkIndex, trainerCommitments, weights);
        if (!ok) return false;
        signals[8] = uint256(d.aggregateChunkHash);
        signals[10] = (roundId << 32) | chunkIndex;
        return groth16.verifyProof(d.a, d.b, d.c, signals);
    }

    function _decode(bytes calldata proof) private pure returns (Decoded memory d) {
        (d.a, d.b, d.c, d.trainerChunkHashes, d.aggregateChunkHash, d.trainerPaths, d.aggregatePath) = abi.decode(
            proof,
            (uint256[2], uint256[2][2], uint256[2], bytes32[], bytes32, bytes32[][], bytes32[])
        );
    }

    /// @dev Opens each trainer's chunk hash against its commitment and fills the trainer-hash and packed-weight
    /// signals; unused slots get the padding hash and weight 0.
    function _signals(
        Decoded memory d,
        uint256 chunkIndex,
        bytes32[] calldata trainerCommitments,
        uint256[] calldata weights
    ) private view returns (bool ok, uint256[11] memory signals) {
        uint256 packedWeights;
        for (uint256 k = 0; k < PROOF_TRAINERS; ++k) {
            if (k < trainerCommitments.length) {
                if (_root(d.trainerChunkHashes[k], chunkIndex, d.trainerPaths[k]) != trainerCommitments[k]) {
                    return (false, signals);
                }
                if (weights[k] >= 2 ** WEIGHT_BITS) return (false, signals);
                signals[k] = uint256(d.trainerChunkHashes[k]);
                packedWeights |= weights[k] << (WEIGHT_BITS * k);
            } else {
                signals[k] = paddingChunkHash;
            }
        }
        signals[9] = packedWeights;
        ok = true;
    }

    /// @dev keccak Merkle root from a leaf at `index` and its sibling path.
    function _root(bytes32 leaf, uint256 index, bytes32[] memory path) private pure returns (bytes32 node) {
        node = leaf;
        for (uint256 i = 0; i < path.length; ++i) {
            node = (index & 1) == 0 ? keccak256(abi.encodePacked(node, path[i])) : keccak256(abi.encodePacked(path[i], node));
            index >>= 1;
        }
    }
}
