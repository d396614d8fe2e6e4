// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAggregationVerifier} from "../interfaces/IAggregationVerifier.sol";
import {ILinkVerifier} from "../interfaces/ILinkVerifier.sol";

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
/// @notice Checks a chunk challenge answer: opens the aggregate's chunk hash against the aggregate commitment
/// (a keccak Merkle root) and verifies the Groth16 proof that the aggregate chunk is the floor-weighted
/// average of the trainers' chunks, against the statement hash H the aggregator supplies (the circuit's one
/// public input). Two parts are optimistic (docs/protocol.md §5), because checking them here would cost more
/// than the rest of the answer: that each weighted trainer's claimed chunk hash is the one it committed (a
/// Merkle path per trainer: ~6k gas of calldata each), and that H is the circuit's Poseidon over the claimed
/// hashes, weights, round and chunk (~150k gas). Both are returned as the statement, which `TrainingRounds`
/// binds and anyone may dispute through `statementMismatch`: with a trainer's true opening (the trainer and
/// whoever received its update hold it) or with no evidence for the Poseidon check (public).
/// @dev Proof bytes, 32-byte words, no ABI offsets: a.x, a.y, b (4 words, precompile order), c.x, c.y, H, the
/// aggregate chunk hash, the claimed chunk hashes of the trainers with weight > 0 (m of them, in commit
/// order), then the aggregate's Merkle path (depth fixed by the task's chunk count). Trainers with weight 0
/// take the padding hash: their values do not enter the weighted sum. Statement bytes: H, then the 11
/// statement inputs. Evidence bytes: the trainer's index in the round, its committed chunk hash, then its
/// Merkle path.
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
    /// @dev Statement word of the packed weights (after H and the 9 chunk hashes).
    uint256 private constant WEIGHTS_WORD = 10;
    /// @dev Statement word of `roundId << 32 | chunkIndex`.
    uint256 private constant ROUND_CHUNK_WORD = 11;
    /// @dev Evidence words before the Merkle path: the trainer index and its committed chunk hash.
    uint256 private constant EVIDENCE_HEAD_WORDS = 2;

    /// @notice The generated Groth16 verifier.
    IGroth16Verifier public immutable groth16;
    /// @notice The first segment of the on-chain Poseidon(11) (contracts/verifier/PoseidonStatement.sol).
    address public immutable poseidon;
    /// @notice Poseidon hash of a chunk of encoded zeros, used for unused and weight-0 trainer slots.
    uint256 public immutable paddingChunkHash;
    /// @inheritdoc IAggregationVerifier
    ILinkVerifier public immutable linkVerifier;

    /// @param groth16_ the generated verifier
    /// @param poseidon_ the first PoseidonStatement segment
    /// @param paddingChunkHash_ Poseidon hash of a padding chunk (node/proofs `paddingChunkHash()`)
    /// @param linkVerifier_ the chained-proof verifier for rounds above the flat fan-in (zero: none)
    constructor(IGroth16Verifier groth16_, address poseidon_, uint256 paddingChunkHash_, ILinkVerifier linkVerifier_) {
        groth16 = groth16_;
        poseidon = poseidon_;
        paddingChunkHash = paddingChunkHash_;
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
    ) external view returns (bool, bytes memory) {
        if (roundId >= 2 ** 64 || chunkIndex >= numChunks || numChunks > 2 ** 32) return (false, "");
        (uint256 m, uint256[STATEMENT_INPUTS] memory inputs) = _claims(weights, proof);
        if (m == 0 || !_aggregateOpens(proof, chunkIndex, numChunks, aggregateCommitment)) return (false, "");
        if (proof.length != (HEAD_WORDS + m + _depth(numChunks)) * 32) return (false, "");
        inputs[8] = _word(proof, AGGREGATE_WORD);
        inputs[10] = (roundId << 32) | chunkIndex;
        uint256 h = _word(proof, H_WORD);
        if (h >= FIELD) return (false, "");
        bool valid = groth16.verifyProof(
            [_word(proof, 0), _word(proof, 1)],
            [[_word(proof, 2), _word(proof, 3)], [_word(proof, 4), _word(proof, 5)]],
            [_word(proof, 6), _word(proof, 7)],
            [h]
        );
        return valid ? (true, abi.encodePacked(h, inputs)) : (false, bytes(""));
    }

    /// @inheritdoc IAggregationVerifier
    /// @dev `statement` is H then the 11 statement inputs (32-byte words). Empty `evidence`: true iff
    /// Poseidon(inputs) != H. Otherwise `evidence` is a trainer index k, the chunk hash k committed at the
    /// statement's chunk and its Merkle path (exactly the task's depth, so an inner node cannot pass for a
    /// leaf): true iff the path opens k's commitment and the statement claims another hash for k, which
    /// carries weight. A malformed statement cannot come from `verifyChunk` (TrainingRounds checks its digest
    /// first) and, like malformed evidence, shows no mismatch.
    function statementMismatch(
        bytes calldata statement,
        bytes32[] calldata trainerCommitments,
        uint256 numChunks,
        bytes calldata evidence
    ) external view returns (bool) {
        if (statement.length != (STATEMENT_INPUTS + 1) * 32) return false;
        if (evidence.length == 0) {
            uint256[STATEMENT_INPUTS] memory inputs;
            for (uint256 i = 0; i < STATEMENT_INPUTS; ++i) inputs[i] = _word(statement, i + 1);
            return _poseidon(inputs) != _word(statement, 0);
        }
        uint256 depth = _depth(numChunks);
        if (evidence.length != (EVIDENCE_HEAD_WORDS + depth) * 32) return false;
        uint256 k = _word(evidence, 0);
        if (k >= PROOF_TRAINERS || k >= trainerCommitments.length) return false;
        if ((_word(statement, WEIGHTS_WORD) >> (WEIGHT_BITS * k)) & (2 ** WEIGHT_BITS - 1) == 0) return false;
        uint256 committed = _word(evidence, 1);
        uint256 chunkIndex = _word(statement, ROUND_CHUNK_WORD) & (2 ** 32 - 1);
        if (_root(evidence, committed, chunkIndex, EVIDENCE_HEAD_WORDS, depth) != trainerCommitments[k]) return false;
        return committed != _word(statement, 1 + k);
    }

    /// @dev The statement's trainer slots and packed weights: each weighted trainer takes the next claimed
    /// hash after the head (m of them), the others the padding hash. m = 0 (invalid) if there are no weighted
    /// trainers, more trainers than the circuit's fan-in, a weight wider than its slot, or a hash outside
    /// the field.
    function _claims(
        uint64[] calldata weights,
        bytes calldata proof
    ) private view returns (uint256 m, uint256[STATEMENT_INPUTS] memory inputs) {
        uint256 n = weights.length;
        if (n > PROOF_TRAINERS || proof.length < (HEAD_WORDS + n) * 32) return (0, inputs);
        for (uint256 k = 0; k < PROOF_TRAINERS; ++k) {
            uint256 w = k < n ? weights[k] : 0;
            if (w >= 2 ** WEIGHT_BITS) return (0, inputs);
            if (w == 0) {
                inputs[k] = paddingChunkHash;
                continue;
            }
            uint256 h = _word(proof, HEAD_WORDS + m);
            if (h >= FIELD) return (0, inputs);
            inputs[k] = h;
            inputs[9] |= w << (WEIGHT_BITS * k);
            ++m;
        }
    }

    /// @dev Whether the aggregate chunk hash opens against `aggregateCommitment` with the path that ends the
    /// proof bytes (the task's depth; the caller checks the total length).
    function _aggregateOpens(
        bytes calldata proof,
        uint256 chunkIndex,
        uint256 numChunks,
        bytes32 aggregateCommitment
    ) private pure returns (bool) {
        uint256 aggregateHash = _word(proof, AGGREGATE_WORD);
        uint256 depth = _depth(numChunks);
        uint256 words = proof.length / 32;
        if (aggregateHash >= FIELD || words < HEAD_WORDS + depth) return false;
        return _root(proof, aggregateHash, chunkIndex, words - depth, depth) == aggregateCommitment;
    }

    /// @dev Depth of a Merkle tree over `numChunks` leaves padded to a power of two.
    function _depth(uint256 numChunks) private pure returns (uint256 depth) {
        while ((1 << depth) < numChunks) ++depth;
    }

    /// @dev Word `i` of packed calldata words (bounds checked by the caller's length arithmetic).
    function _word(bytes calldata data, uint256 i) private pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := calldataload(add(data.offset, mul(i, 32)))
        }
    }

    /// @dev keccak Merkle root from `leaf` at `index` and the `depth` sibling words of `data` from word `start`.
    function _root(
        bytes calldata data,
        uint256 leaf,
        uint256 index,
        uint256 start,
        uint256 depth
    ) private pure returns (bytes32 node) {
        assembly ("memory-safe") {
            node := leaf
            let p := add(data.offset, mul(start, 32))
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
