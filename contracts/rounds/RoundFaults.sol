// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {RoundsBase} from "./RoundsBase.sol";

/// @title RoundFaults
/// @notice Faults proven without a challenge: an aggregator that missed its deadline, and operators that
/// signed (EIP-712) two different results for one round. Anyone may report.
abstract contract RoundFaults is RoundsBase, EIP712 {
    bytes32 private constant COMMITMENT_TYPEHASH =
        keccak256("Commitment(uint256 roundId,bytes32 commitment,uint256 sampleCount)");
    bytes32 private constant AGGREGATE_TYPEHASH =
        keccak256("Aggregate(uint256 roundId,bytes32 aggregateCommitment,bytes32 modelRef)");

    mapping(uint256 roundId => mapping(address signer => bool)) private _equivocationSlashed;

    /// @notice After the aggregation deadline passed without an aggregate, slashes the aggregator and fails
    /// the round. Anyone may call and is the reporter.
    /// @param roundId the round, still Aggregating past its aggregate deadline
    function reportMissedAggregation(uint256 roundId) external nonReentrant {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, RoundState.Aggregating);
        if (block.timestamp <= round.aggregateDeadline) revert DeadlineNotReached(round.aggregateDeadline);
        address aggregator = round.aggregator;
        emit AggregationMissed(roundId, aggregator, msg.sender);
        _close(roundId, round, RoundState.Failed);
        _slashShare(aggregator, _params.aggregatorSlashBps, REASON_MISSED_DEADLINE, bytes32(roundId), msg.sender);
    }

    /// @notice Slashes an operator that signed (EIP-712) two different results for the same round: two
    /// commitments as a trainer, or two aggregates as an aggregator. Anyone may submit; the submitter is the
    /// reporter. Each signer is slashed at most once per round.
    /// @param roundId the round both messages name
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
        bytes32 typeHash = isAggregate ? AGGREGATE_TYPEHASH : COMMITMENT_TYPEHASH;
        bytes32 digestA = _hashTypedDataV4(keccak256(abi.encode(typeHash, roundId, a[0], a[1])));
        bytes32 digestB = _hashTypedDataV4(keccak256(abi.encode(typeHash, roundId, b[0], b[1])));
        address signer = ECDSA.recover(digestA, signatureA);
        if (signer != ECDSA.recover(digestB, signatureB)) revert InvalidEvidence();
        if (_equivocationSlashed[roundId][signer]) revert AlreadySlashed(signer);
        _equivocationSlashed[roundId][signer] = true;
        emit EquivocationProven(roundId, signer, isAggregate, msg.sender);
        bytes32 evidence = keccak256(abi.encode(roundId, digestA, digestB));
        if (isAggregate) {
            _slashShare(signer, _params.aggregatorSlashBps, REASON_AGGREGATOR_EQUIVOCATION, evidence, msg.sender);
        } else {
            _slashShare(signer, _params.trainerSlashBps, REASON_TRAINER_EQUIVOCATION, evidence, msg.sender);
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
