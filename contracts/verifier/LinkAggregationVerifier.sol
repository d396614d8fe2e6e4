// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ILinkVerifier} from "../interfaces/ILinkVerifier.sol";
import {IGroth16Verifier} from "./AggregationVerifier.sol";

/// @title LinkAggregationVerifier
/// @notice Checks a link answer of a chained aggregation proof (ILinkVerifier) for K = 4 trainers per link and
/// chunks of 64 values (circuits/aggregate-link.circom, AggregateLink(4, 64, 16, 16, 10): up to 1,023 trainers
/// in a chain). On chain: the link's weights are the round's (packed here from `linkWeights`), its output leaf
/// opens against the link root at its cell, its input is the previous cell's leaf (link 0: zero sums and zero
/// weight), the last link's aggregate chunk hash opens against the aggregate commitment, and the Groth16 proof
/// verifies against the statement hash H. Optimistic, as for flat answers (AggregationVerifier, docs §5): that
/// each weighted trainer's claimed chunk hash is the one it committed, and that H is the circuit's Poseidon of
/// the statement; `statementMismatch` shows either false.
/// @dev Proof bytes, 32-byte words, no ABI offsets: a.x, a.y, b (4 words, precompile order), c.x, c.y, H,
/// sumInHash, sumOutHash, the aggregate chunk hash, wIn, wOut, the claimed chunk hashes of the link's weighted
/// trainers (m, in commit order), the output leaf's path in the link tree, for link > 0 the input leaf's path,
/// and for the last link the aggregate's path (depths fixed by the cell and chunk counts). Statement bytes: H,
/// then the 12 statement inputs: the K trainer chunk hashes, sumInHash, sumOutHash, aggregate chunk hash,
/// packed weights, wIn, wOut, `roundId << 32 | chunk`, link. Evidence: a trainer's slot in the link, its
/// committed chunk hash, then its Merkle path.
contract LinkAggregationVerifier is ILinkVerifier {
    /// @notice Trainers per link (the link circuit's K).
    uint256 public constant LINK_TRAINERS = 4;
    /// @notice Most links in a chain: the circuit bounds the chain below 2^10 trainers.
    uint256 public constant MAX_LINKS = 256;
    /// @notice Bits per packed weight in the circuit.
    uint256 public constant WEIGHT_BITS = 16;
    /// @dev BN254 scalar field.
    uint256 private constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev Proof words: the 8 Groth16 words, then H, sumInHash, sumOutHash, aggregate hash, wIn, wOut.
    uint256 private constant H_WORD = 8;
    uint256 private constant SUM_IN_WORD = 9;
    uint256 private constant SUM_OUT_WORD = 10;
    uint256 private constant AGGREGATE_WORD = 11;
    uint256 private constant W_IN_WORD = 12;
    uint256 private constant W_OUT_WORD = 13;
    uint256 private constant HEAD_WORDS = 14;
    /// @dev Statement inputs: K trainer hashes, then these offsets past them.
    uint256 private constant STATEMENT_INPUTS = LINK_TRAINERS + 8;
    uint256 private constant S_SUM_IN = LINK_TRAINERS;
    uint256 private constant S_WEIGHTS = LINK_TRAINERS + 3;
    uint256 private constant S_ROUND_CHUNK = LINK_TRAINERS + 6;
    uint256 private constant S_LINK = LINK_TRAINERS + 7;
    /// @dev Evidence words before the Merkle path: the trainer's slot and its committed chunk hash.
    uint256 private constant EVIDENCE_HEAD_WORDS = 2;

    /// @notice The generated Groth16 verifier of the link circuit.
    IGroth16Verifier public immutable groth16;
    /// @notice First segment of the on-chain Poseidon(4) of a link's trainer chunk hashes.
    address public immutable poseidonTrainers;
    /// @notice First segment of the on-chain Poseidon(9) of a link's statement.
    address public immutable poseidonStatement;
    /// @notice Poseidon hash of a chunk of encoded zeros: weight-0 and unused slots.
    uint256 public immutable paddingChunkHash;
    /// @notice Poseidon hash of all-zero packed running sums: link 0's input (node/proofs `zeroSumsHash`).
    uint256 public immutable zeroSumsHash;

    /// @param groth16_ the generated link verifier
    /// @param poseidonTrainers_ the first PoseidonLinkTrainers segment
    /// @param poseidonStatement_ the first PoseidonLinkStatement segment
    /// @param paddingChunkHash_ Poseidon hash of a padding chunk
    /// @param zeroSumsHash_ Poseidon hash of zero running sums
    constructor(
        IGroth16Verifier groth16_,
        address poseidonTrainers_,
        address poseidonStatement_,
        uint256 paddingChunkHash_,
        uint256 zeroSumsHash_
    ) {
        groth16 = groth16_;
        poseidonTrainers = poseidonTrainers_;
        poseidonStatement = poseidonStatement_;
        paddingChunkHash = paddingChunkHash_;
        zeroSumsHash = zeroSumsHash_;
    }

    /// @inheritdoc ILinkVerifier
    function verifyLink(
        LinkCell calldata cell,
        uint64[] calldata linkWeights,
        bytes calldata proof
    ) external view returns (bool, bytes memory) {
        if (!_cellInRange(cell, linkWeights.length)) return (false, "");
        (uint256 m, uint256[STATEMENT_INPUTS] memory inputs) = _claims(linkWeights, proof);
        if (m == type(uint256).max || !_shapeOk(cell, proof, m)) return (false, "");
        if (!_openings(cell, proof, HEAD_WORDS + m)) return (false, "");
        inputs[S_SUM_IN] = _word(proof, SUM_IN_WORD);
        inputs[S_SUM_IN + 1] = _word(proof, SUM_OUT_WORD);
        inputs[S_SUM_IN + 2] = _word(proof, AGGREGATE_WORD);
        inputs[S_WEIGHTS + 1] = _word(proof, W_IN_WORD);
        inputs[S_WEIGHTS + 2] = _word(proof, W_OUT_WORD);
        inputs[S_ROUND_CHUNK] = (cell.roundId << 32) | cell.chunkIndex;
        inputs[S_LINK] = cell.link;
        if (!_groth16Valid(proof)) return (false, "");
        return (true, abi.encodePacked(_word(proof, H_WORD), inputs));
    }

    /// @inheritdoc ILinkVerifier
    /// @dev Empty `evidence`: true iff Poseidon(Poseidon(trainer hashes), the other 8 inputs) != H. Otherwise
    /// `evidence` is a slot k of the link, the chunk hash the link's k-th trainer committed at the statement's
    /// chunk and its Merkle path (exactly the task's depth): true iff it opens that trainer's commitment, the
    /// slot carries weight and the statement claims another hash for it. Malformed input shows no mismatch.
    function statementMismatch(
        bytes calldata statement,
        bytes32[] calldata linkCommitments,
        uint256 numChunks,
        bytes calldata evidence
    ) external view returns (bool) {
        if (statement.length != (STATEMENT_INPUTS + 1) * 32) return false;
        if (evidence.length == 0) return _statementHash(statement) != _word(statement, 0);
        uint256 depth = _depth(numChunks);
        if (evidence.length != (EVIDENCE_HEAD_WORDS + depth) * 32) return false;
        uint256 k = _word(evidence, 0);
        if (k >= LINK_TRAINERS || k >= linkCommitments.length) return false;
        if ((_word(statement, 1 + S_WEIGHTS) >> (WEIGHT_BITS * k)) & (2 ** WEIGHT_BITS - 1) == 0) return false;
        uint256 committed = _word(evidence, 1);
        uint256 chunkIndex = _word(statement, 1 + S_ROUND_CHUNK) & (2 ** 32 - 1);
        if (_root(evidence, committed, chunkIndex, EVIDENCE_HEAD_WORDS, depth) != linkCommitments[k]) return false;
        return committed != _word(statement, 1 + k);
    }

    /// @dev The cell and the weights fit the circuit: a round and chunk that pack into the statement, a link
    /// inside the chain, at most K weights (exactly K except in the last link).
    function _cellInRange(LinkCell calldata cell, uint256 weightCount) private pure returns (bool) {
        if (cell.roundId >= 2 ** 64 || cell.numChunks == 0 || cell.numChunks > 2 ** 32) return false;
        if (cell.chunkIndex >= cell.numChunks || cell.numLinks > MAX_LINKS || cell.link >= cell.numLinks) return false;
        if (weightCount == 0 || weightCount > LINK_TRAINERS) return false;
        return weightCount == LINK_TRAINERS || cell.link + 1 == cell.numLinks;
    }

    /// @dev The proof bytes have exactly the words this cell needs (m claimed hashes, one or two tree paths,
    /// the aggregate's path for the last link) and the head words are field elements.
    function _shapeOk(LinkCell calldata cell, bytes calldata proof, uint256 m) private pure returns (bool) {
        uint256 cellDepth = _depth(cell.numChunks * cell.numLinks);
        uint256 words = HEAD_WORDS + m + cellDepth * (cell.link == 0 ? 1 : 2);
        if (cell.link + 1 == cell.numLinks) words += _depth(cell.numChunks);
        if (proof.length != words * 32) return false;
        for (uint256 i = H_WORD; i < HEAD_WORDS; ++i) {
            if (_word(proof, i) >= FIELD) return false;
        }
        return true;
    }

    /// @dev The Groth16 proof (words 0..7) verifies against the statement hash H (word 8).
    function _groth16Valid(bytes calldata proof) private view returns (bool) {
        return
            groth16.verifyProof(
                [_word(proof, 0), _word(proof, 1)],
                [[_word(proof, 2), _word(proof, 3)], [_word(proof, 4), _word(proof, 5)]],
                [_word(proof, 6), _word(proof, 7)],
                [_word(proof, H_WORD)]
            );
    }

    /// @dev The link's trainer slots and packed weights: each weighted trainer takes the next claimed hash
    /// after the head (m of them), the others the padding hash. A link of rejected trainers only (m = 0) is
    /// valid: the circuit divides by 1 while the running weight is 0. m = max (invalid) for a weight wider
    /// than its slot, a short proof or a hash outside the field.
    function _claims(
        uint64[] calldata weights,
        bytes calldata proof
    ) private view returns (uint256 m, uint256[STATEMENT_INPUTS] memory inputs) {
        uint256 n = weights.length;
        if (proof.length < (HEAD_WORDS + n) * 32) return (type(uint256).max, inputs);
        for (uint256 k = 0; k < LINK_TRAINERS; ++k) {
            uint256 w = k < n ? weights[k] : 0;
            if (w >= 2 ** WEIGHT_BITS) return (type(uint256).max, inputs);
            if (w == 0) {
                inputs[k] = paddingChunkHash;
                continue;
            }
            uint256 h = _word(proof, HEAD_WORDS + m);
            if (h >= FIELD) return (type(uint256).max, inputs);
            inputs[k] = h;
            inputs[S_WEIGHTS] |= w << (WEIGHT_BITS * k);
            ++m;
        }
    }

    /// @dev The link's output leaf opens at its cell; its input is link 0's zeros or the previous cell's leaf;
    /// the last link's aggregate chunk hash opens against the aggregate commitment. Paths start at word `p`.
    function _openings(LinkCell calldata cell, bytes calldata proof, uint256 p) private view returns (bool) {
        uint256 cellDepth = _depth(cell.numChunks * cell.numLinks);
        uint256 index = cell.chunkIndex * cell.numLinks + cell.link;
        if (_root(proof, _leaf(_word(proof, SUM_OUT_WORD), _word(proof, W_OUT_WORD)), index, p, cellDepth) != cell.linkRoot)
            return false;
        p += cellDepth;
        if (cell.link == 0) {
            if (_word(proof, SUM_IN_WORD) != zeroSumsHash || _word(proof, W_IN_WORD) != 0) return false;
        } else {
            uint256 inLeaf = _leaf(_word(proof, SUM_IN_WORD), _word(proof, W_IN_WORD));
            if (_root(proof, inLeaf, index - 1, p, cellDepth) != cell.linkRoot) return false;
            p += cellDepth;
        }
        return cell.link + 1 != cell.numLinks || _aggregateOpens(cell, proof, p);
    }

    /// @dev The last link's aggregate chunk hash opens against the aggregate commitment (path from word `p`).
    function _aggregateOpens(LinkCell calldata cell, bytes calldata proof, uint256 p) private pure returns (bool) {
        bytes32 root = _root(proof, _word(proof, AGGREGATE_WORD), cell.chunkIndex, p, _depth(cell.numChunks));
        return root == cell.aggregateCommitment;
    }

    /// @dev A cell's leaf in the link tree: keccak256(abi.encode(sumOutHash, wOut)).
    function _leaf(uint256 sumOutHash, uint256 wOut) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(sumOutHash, wOut)));
    }

    /// @dev Poseidon(Poseidon(trainer hashes), sumIn, sumOut, aggregate, packed weights, wIn, wOut, round-chunk,
    /// link) of a statement's inputs (words 1..12), through the two generated hashes.
    function _statementHash(bytes calldata statement) private view returns (uint256) {
        uint256[] memory trainers = new uint256[](LINK_TRAINERS);
        for (uint256 k = 0; k < LINK_TRAINERS; ++k) trainers[k] = _word(statement, 1 + k);
        uint256[] memory outer = new uint256[](STATEMENT_INPUTS - LINK_TRAINERS + 1);
        outer[0] = _poseidon(poseidonTrainers, trainers);
        for (uint256 i = 1; i < outer.length; ++i) outer[i] = _word(statement, LINK_TRAINERS + i);
        return _poseidon(poseidonStatement, outer);
    }

    /// @dev Depth of a Merkle tree over `leaves` leaves padded to a power of two.
    function _depth(uint256 leaves) private pure returns (uint256 depth) {
        while ((1 << depth) < leaves) ++depth;
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

    /// @dev Poseidon of `inputs` through generated segments at `target` (state word 0 is the capacity, zero).
    function _poseidon(address target, uint256[] memory inputs) private view returns (uint256 out) {
        uint256 n = inputs.length;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0)
            for {
                let i := 0
            } lt(i, n) {
                i := add(i, 1)
            } {
                mstore(add(m, mul(add(i, 1), 32)), mload(add(inputs, mul(add(i, 1), 32))))
            }
            if iszero(staticcall(gas(), target, m, mul(add(n, 1), 32), m, 0x20)) {
                revert(0, 0)
            }
            out := mload(m)
        }
    }
}
