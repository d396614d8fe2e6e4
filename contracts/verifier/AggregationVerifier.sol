// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAggregationVerifier} from "../interfaces/IAggregationVerifier.sol";

/// @notice The generated Groth16 verifier of circuits/aggregate.circom (one public input).
interface IGroth16Verifier {
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[1] calldata pubSignals
    ) external view returns (bool);
}

/// @title AggregationVerifier
/// @notice Checks a chunk challenge answer: opens each weighted trainer's chunk hash and the aggregate's
/// chunk hash against their on-chain commitments (keccak Merkle roots) and verifies the Groth16 proof that
/// the aggregate chunk is the floor-weighted average of the trainers' chunks against the statement hash H
/// the aggregator supplies (the circuit's one public input). That H is the circuit's Poseidon over the
/// opened hashes, weights, round and chunk is NOT checked here (Poseidon on chain costs ~147k gas): the
/// statement (H and those 11 inputs) is returned for `TrainingRounds` to bind and to be disputed through
/// `statementMismatch` (optimistic; see docs/protocol.md §5). A proof for another chunk, round or weights
/// needs another H, so either fails the pairing or is disputable.
/// @dev Proof bytes, 32-byte words, no ABI offsets: a.x, a.y, b (4 words, precompile order), c.x, c.y, H, the
/// aggregate chunk hash, the chunk hashes of the trainers with weight > 0 (m of them, in commit order), then
/// m + 1 Merkle paths of equal depth d, the aggregate's first. Trainers with weight 0 take the padding hash
/// and need no opening: their values do not enter the weighted sum. Statement bytes: H, then the 11 inputs.
contract AggregationVerifier is IAggregationVerifier {
    /// @notice Trainers per proof (the circuit's fan-in).
    uint256 public constant PROOF_TRAINERS = 8;
    /// @notice Bits per packed weight in the circuit.
    uint256 public constant WEIGHT_BITS = 16;
    /// @dev BN254 scalar field: chunk hashes are Poseidon outputs, below it.
    uint256 private constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev Words before the trainer chunk hashes: the 8 proof words, H and the aggregate chunk hash.
    uint256 private constant HEAD_WORDS = 10;
    /// @dev Word index of the statement hash H in the proof bytes.
    uint256 private constant H_WORD = 8;
    /// @dev Word index of the aggregate chunk hash in the proof bytes.
    uint256 private constant AGGREGATE_WORD = 9;
    /// @dev Inputs of the statement hash: 8 trainer hashes, aggregate hash, packed weights, round and chunk.
    uint256 private constant STATEMENT_INPUTS = 11;

    /// @notice The generated Groth16 verifier.
    IGroth16Verifier public immutable groth16;
    /// @notice The first segment of the on-chain Poseidon(11) (contracts/verifier/PoseidonStatement.sol).
    address public immutable poseidon;
    /// @notice Poseidon hash of a chunk of encoded zeros, used for unused and weight-0 trainer slots.
    uint256 public immutable paddingChunkHash;

    /// @param groth16_ the generated verifier
    /// @param poseidon_ the first PoseidonStatement segment
    /// @param paddingChunkHash_ Poseidon hash of a padding chunk (node/proofs `paddingChunkHash()`)
    constructor(IGroth16Verifier groth16_, address poseidon_, uint256 paddingChunkHash_) {
        groth16 = groth16_;
        poseidon = poseidon_;
        paddingChunkHash = paddingChunkHash_;
    }

    /// @dev Where the Merkle paths are in the proof bytes.
    struct Layout {
        uint256 pathStart; // word index of the first path (the aggregate's)
        uint256 depth; // siblings per path
        uint256 packedWeights; // Σ w_k · 2^(16k), as the circuit packs them
    }

    /// @inheritdoc IAggregationVerifier
    function verifyChunk(
        uint256 roundId,
        uint256 chunkIndex,
        bytes32[] calldata trainerCommitments,
        uint256[] calldata weights,
        bytes32 aggregateCommitment,
        bytes calldata proof
    ) external view returns (bool valid, bytes memory statement) {
        {
            uint256 n = trainerCommitments.length;
            if (n == 0 || n > PROOF_TRAINERS || weights.length != n || roundId >= 2 ** 64 || chunkIndex >= 2 ** 32) {
                return (false, statement);
            }
        }
        (bool ok, Layout memory layout) = _layout(weights, proof);
        if (!ok) return (false, statement);
        uint256[STATEMENT_INPUTS] memory inputs;
        if (!_openAggregate(proof, chunkIndex, aggregateCommitment, layout, inputs)) return (false, statement);
        if (!_openTrainers(proof, chunkIndex, trainerCommitments, weights, layout, inputs)) return (false, statement);
        inputs[9] = layout.packedWeights;
        inputs[10] = (roundId << 32) | chunkIndex;
        uint256 h = _word(proof, H_WORD);
        if (h >= FIELD) return (false, statement);
        valid = groth16.verifyProof(
            [_word(proof, 0), _word(proof, 1)],
            [[_word(proof, 2), _word(proof, 3)], [_word(proof, 4), _word(proof, 5)]],
            [_word(proof, 6), _word(proof, 7)],
            [h]
        );
        if (valid) statement = abi.encodePacked(h, inputs);
    }

    /// @inheritdoc IAggregationVerifier
    /// @dev `statement` is H then the 11 statement inputs (32-byte words); true iff Poseidon(inputs) != H.
    /// A malformed statement cannot come from `verifyChunk` (TrainingRounds checks its keccak first) and
    /// is reported as no mismatch.
    function statementMismatch(bytes calldata statement) external view returns (bool) {
        if (statement.length != (STATEMENT_INPUTS + 1) * 32) return false;
        uint256[STATEMENT_INPUTS] memory inputs;
        for (uint256 i = 0; i < STATEMENT_INPUTS; ++i) inputs[i] = _word(statement, i + 1);
        return _poseidon(inputs) != _word(statement, 0);
    }

    /// @dev Opens the aggregate chunk hash (word 8) against the aggregate commitment into `inputs[8]`.
    function _openAggregate(
        bytes calldata proof,
        uint256 chunkIndex,
        bytes32 aggregateCommitment,
        Layout memory layout,
        uint256[STATEMENT_INPUTS] memory inputs
    ) private pure returns (bool) {
        uint256 aggregateHash = _word(proof, AGGREGATE_WORD);
        if (aggregateHash >= FIELD) return false;
        inputs[8] = aggregateHash;
        return _root(proof, aggregateHash, chunkIndex, layout.pathStart, layout.depth) == aggregateCommitment;
    }

    /// @dev Checks the weights (16 bits each, at least one non-zero) and that the proof bytes hold m + 1
    /// paths of one depth after the head and the m weighted trainers' chunk hashes.
    function _layout(
        uint256[] calldata weights,
        bytes calldata proof
    ) private pure returns (bool ok, Layout memory layout) {
        if (proof.length % 32 != 0) return (false, layout);
        uint256 m;
        for (uint256 k = 0; k < weights.length; ++k) {
            uint256 w = weights[k];
            if (w >= 2 ** WEIGHT_BITS) return (false, layout);
            if (w != 0) ++m;
            layout.packedWeights |= w << (WEIGHT_BITS * k);
        }
        uint256 words = proof.length / 32;
        if (m == 0 || words < HEAD_WORDS + m || (words - HEAD_WORDS - m) % (m + 1) != 0) return (false, layout);
        layout.depth = (words - HEAD_WORDS - m) / (m + 1);
        layout.pathStart = HEAD_WORDS + m;
        ok = true;
    }

    /// @dev Opens each weighted trainer's chunk hash against its commitment into `inputs[k]`; weight-0 and
    /// unused slots get the padding hash.
    function _openTrainers(
        bytes calldata proof,
        uint256 chunkIndex,
        bytes32[] calldata trainerCommitments,
        uint256[] calldata weights,
        Layout memory layout,
        uint256[STATEMENT_INPUTS] memory inputs
    ) private view returns (bool) {
        uint256 opened;
        for (uint256 k = 0; k < PROOF_TRAINERS; ++k) {
            if (k < weights.length && weights[k] != 0) {
                uint256 h = _word(proof, HEAD_WORDS + opened);
                ++opened;
                if (h >= FIELD) return false;
                bytes32 root = _root(proof, h, chunkIndex, layout.pathStart + opened * layout.depth, layout.depth);
                if (root != trainerCommitments[k]) return false;
                inputs[k] = h;
            } else {
                inputs[k] = paddingChunkHash;
            }
        }
        return true;
    }

    /// @dev Word `i` of packed calldata words (bounds checked by the caller's length arithmetic).
    function _word(bytes calldata data, uint256 i) private pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := calldataload(add(data.offset, mul(i, 32)))
        }
    }

    /// @dev keccak Merkle root from `leaf` at `index` and the `depth` sibling words starting at word `start`.
    function _root(
        bytes calldata proof,
        uint256 leaf,
        uint256 index,
        uint256 start,
        uint256 depth
    ) private pure returns (bytes32 node) {
        assembly ("memory-safe") {
            node := leaf
            let p := add(proof.offset, mul(start, 32))
            for {
                let i := 0
            } lt(i, depth) {
                i := add(i, 1)
            } {
                let sibling := calldataload(add(p, mul(i, 32)))
                switch and(index, 1)
                case 0 {
                    mstore(0x00, node)
                    mstore(0x20, sibling)
                }
                default {
                    mstore(0x00, sibling)
                    mstore(0x20, node)
                }
                node := keccak256(0x00, 0x40)
                index := shr(1, index)
            }
        }
    }

    /// @dev Poseidon(11) of `inputs` through the segment contracts (state word 0 is the capacity, zero).
    function _poseidon(uint256[STATEMENT_INPUTS] memory inputs) private view returns (uint256 out) {
        address target = poseidon;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0)
            for {
                let i := 0
            } lt(i, STATEMENT_INPUTS) {
                i := add(i, 1)
            } {
                mstore(add(m, mul(add(i, 1), 32)), mload(add(inputs, mul(i, 32))))
            }
            if iszero(staticcall(gas(), target, m, mul(add(STATEMENT_INPUTS, 1), 32), m, 0x20)) {
                revert(0, 0)
            }
            out := mload(m)
        }
    }
}
