// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {RoundsBase} from "./RoundsBase.sol";
import {RoundWeightClaims} from "./RoundWeightClaims.sol";

/// @title RoundFaults
/// @notice Faults proven without a challenge: an aggregator that missed its deadline, and operators that
/// signed (EIP-712) two different results for one round. Anyone may report.
abstract contract RoundFaults is RoundsBase, RoundWeightClaims, EIP712 {
    bytes32 private constant COMMITMENT_TYPEHASH =
        keccak256("Commitment(uint256 roundId,bytes32 commitment,uint256 sampleCount)");
    bytes32 private constant AGGREGATE_TYPEHASH =
        keccak256("Aggregate(uint256 roundId,bytes32 aggregateCommitment,bytes32 modelRef)");

    /// @dev One equivocation slash per (round, signer, role), whatever the order reports arrive in: a
    /// trainer fault reported first cannot shield the same operator's aggregator fault.
    mapping(uint256 roundId => mapping(address signer => mapping(Role role => bool))) private _slashedAs;

    /// @notice After the aggregation deadline passed without an aggregate, slashes the aggregator. The round's
    /// backup (drawn with it, `RoundDraws.backup`) then takes over with a full aggregate window from now, if
    /// this report comes within one aggregate window of the missed deadline (a later report finds the round
    /// already past the bounded schedule and the backup never held the duty: it is not slashed). Without a
    /// backup the round fails; nothing was posted, so no trainer provably delivered and none is paid. Anyone
    /// may call (the backup itself has every reason to); the reporter share goes only to a revealed report
    /// (`revealReport`) by someone other than the aggregator.
    /// @param roundId the round, still Aggregating past its aggregate deadline
    function reportMissedAggregation(uint256 roundId) external nonReentrant {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, RoundState.Aggregating);
        uint64 deadline = round.aggregateDeadline;
        if (block.timestamp <= deadline) revert DeadlineNotReached(deadline);
        address aggregator = round.aggregator;
        address reporter = _reporter(aggregator);
        emit AggregationMissed(roundId, aggregator, reporter);
        RoundDraws storage draws = _draws[roundId];
        address backup = draws.backup;
        uint64 window = _tasks[round.taskId].aggregateWindow;
        if (backup != address(0) && block.timestamp <= uint256(deadline) + window) {
            draws.backup = address(0);
            round.aggregator = backup;
            round.linkRoot = bytes32(0); // the missed aggregator's, if it posted one
            _clearWeightsRoot(roundId); // likewise: the backup's own weights decide the round
            round.aggregateDeadline = uint64(block.timestamp) + window;
            round.challengeDeadline = round.aggregateDeadline + _tasks[round.taskId].challengeWindow;
            emit AggregatorReplaced(roundId, aggregator, backup);
        } else {
            _close(roundId, round, RoundState.Failed);
        }
        _slashShare(
            aggregator,
            _paramsOf(round).aggregatorSlashBps,
            REASON_MISSED_DEADLINE,
            bytes32(roundId),
            reporter
        );
    }

    /// @notice Slashes an operator that signed (EIP-712) two different results for the same round: two
    /// commitments as a trainer (trainer rate), or two aggregates (aggregator rate). Anyone may submit; the
    /// submitter is the reporter unless it is the signer. Each signer is slashed at most once per round and
    /// role, so reports of its two roles land in any order.
    /// @param roundId the round both messages name (it must exist)
    /// @param isAggregate true for `Aggregate` messages, false for `Commitment` messages
    /// @param a first signed value pair (commitment, sampleCount) or (aggregateCommitment, modelRef)
    /// @param signatureA the signature over `a`
    /// @param b second signed value pair, different from `a`
    /// @param signatureB the signature over `b`, by the same signer
    function reportEquivocation(
        uint256 roundId,
        bool isAggregate,
        bytes32[2] calldata a,
        bytes calldata signatureA,
        bytes32[2] calldata b,
        bytes calldata signatureB
    ) external nonReentrant {
        if (a[0] == b[0] && a[1] == b[1]) revert InvalidEvidence();
        bytes32 digestA = _signedDigest(roundId, isAggregate, a);
        bytes32 digestB = _signedDigest(roundId, isAggregate, b);
        address signer = ECDSA.recover(digestA, signatureA);
        if (signer != ECDSA.recover(digestB, signatureB)) revert InvalidEvidence();
        _slashEquivocation(roundId, signer, isAggregate, keccak256(abi.encode(roundId, digestA, digestB)));
    }

    /// @notice Slashes an operator whose one signed message differs from what it put on chain in this round:
    /// a trainer that signed a commitment (or sample count) other than the one it committed, or the round's
    /// aggregator that signed an aggregate other than the one it posted. The same slash, rate and once-per-role
    /// rule as `reportEquivocation`; the on-chain value is the second signature.
    /// @param roundId the round
    /// @param isAggregate true for an `Aggregate` message, false for a `Commitment` message
    /// @param signed the signed value pair, as in `reportEquivocation`
    /// @param signature the signature over `signed`
    function reportSignedConflict(
        uint256 roundId,
        bool isAggregate,
        bytes32[2] calldata signed,
        bytes calldata signature
    ) external nonReentrant {
        bytes32 digest = _signedDigest(roundId, isAggregate, signed);
        address signer = ECDSA.recover(digest, signature);
        Round storage round = _rounds[roundId];
        bytes32 onChain0;
        bytes32 onChain1;
        if (isAggregate) {
            if (!round.posted || signer != round.aggregator) revert InvalidEvidence();
            (onChain0, onChain1) = (round.aggregateCommitment, round.modelRef);
        } else {
            uint256 index = _trainerIndex[roundId][signer];
            if (index == 0) revert InvalidEvidence();
            (onChain0, onChain1) = (round.commitments[index - 1], bytes32(uint256(round.sampleCounts[index - 1])));
        }
        if (signed[0] == onChain0 && signed[1] == onChain1) revert InvalidEvidence();
        _slashEquivocation(roundId, signer, isAggregate, keccak256(abi.encode(roundId, digest, onChain0, onChain1)));
    }

    /// @notice Whether `signer` was already slashed for equivocation in round `roundId` in `role`.
    /// @param roundId the round
    /// @param signer the operator
    /// @param role its role
    /// @return true once slashed
    function equivocationSlashed(uint256 roundId, address signer, Role role) external view returns (bool) {
        return _slashedAs[roundId][signer][role];
    }

    /// @dev The EIP-712 digest of a `Commitment` or `Aggregate` message of round `roundId`.
    function _signedDigest(uint256 roundId, bool isAggregate, bytes32[2] calldata v) private view returns (bytes32) {
        bytes32 typeHash = isAggregate ? AGGREGATE_TYPEHASH : COMMITMENT_TYPEHASH;
        return _hashTypedDataV4(keccak256(abi.encode(typeHash, roundId, v[0], v[1])));
    }

    /// @dev Slashes `signer` once for its role in round `roundId`, at that role's rate from the round's
    /// parameters; the caller is the reporter unless it is the signer.
    function _slashEquivocation(uint256 roundId, address signer, bool isAggregate, bytes32 evidence) private {
        Round storage round = _rounds[roundId];
        if (round.state == RoundState.None) revert WrongState(roundId, round.state);
        Role role = isAggregate ? Role.Aggregator : Role.Trainer;
        if (_slashedAs[roundId][signer][role]) revert AlreadySlashed(signer);
        _slashedAs[roundId][signer][role] = true;
        address reporter = _reporter(signer);
        emit EquivocationProven(roundId, signer, isAggregate, reporter);
        Params storage p = _paramsOf(round);
        if (isAggregate) {
            _slashShare(signer, p.aggregatorSlashBps, REASON_AGGREGATOR_EQUIVOCATION, evidence, reporter);
        } else {
            _slashShare(signer, p.trainerSlashBps, REASON_TRAINER_EQUIVOCATION, evidence, reporter);
        }
    }

    /// @notice The EIP-712 digest a trainer signs for a commitment (for off-chain signing and evidence).
    /// @param roundId the round
    /// @param commitment the update's commitment
    /// @param sampleCount the self-reported sample count
    /// @return the typed-data digest
    function commitmentDigest(uint256 roundId, bytes32 commitment, uint256 sampleCount) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(COMMITMENT_TYPEHASH, roundId, commitment, bytes32(sampleCount))));
    }

    /// @notice The EIP-712 digest an aggregator signs for an aggregate.
    /// @param roundId the round
    /// @param aggregateCommitment the aggregate's commitment
    /// @param modelRef the new model's content hash
    /// @return the typed-data digest
    function aggregateDigest(uint256 roundId, bytes32 aggregateCommitment, bytes32 modelRef) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(AGGREGATE_TYPEHASH, roundId, aggregateCommitment, modelRef)));
    }
}
