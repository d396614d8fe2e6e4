// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ITrainingRounds} from "./ITrainingRounds.sol";

/// @title IRoundSelection
/// @notice Aggregator candidates, the two-step unbiasable selection and the sample draw (docs/protocol.md §3). Served at
/// TrainingRounds' address by RoundsExtension (delegatecall from TrainingRounds' fallback); the ABI exported
/// for TrainingRounds includes these functions.
interface IRoundSelection {
    /// @notice Opts the caller in or out of aggregator selection for task `taskId`'s rounds (needs active stake
    /// and an existing task to opt in; a full list drops an inactive candidate, else the least-staked one for a
    /// newcomer with more stake). A round draws only among its own task's candidates.
    /// @param taskId the task whose rounds the caller volunteers to aggregate
    /// @param optIn true to join the task's list, false to leave it
    function setAggregatorOptIn(uint256 taskId, bool optIn) external;

    /// @notice Drops the listed candidates of task `taskId` that are no longer active operators.
    /// @param taskId the task whose list is pruned
    /// @param candidates the candidates to check
    /// @return removed how many were dropped
    function pruneCandidates(uint256 taskId, address[] calldata candidates) external returns (uint256 removed);

    /// @notice Task `taskId`'s opted-in aggregator candidates, in list order.
    /// @param taskId the task
    /// @return the candidates
    function aggregatorCandidates(uint256 taskId) external view returns (address[] memory);

    /// @notice Fixes the selection's inputs after the commit deadline and names its seed block.
    function lockSelection(uint256 roundId) external;

    /// @notice Chooses the round's aggregator from the seed block's `prevrandao`; returns it (zero if the
    /// round failed instead).
    function selectAggregator(
        uint256 roundId,
        address[] calldata candidates,
        bytes calldata seedBlockHeader
    ) external returns (address aggregator);

    /// @notice Opens a posted proven round's sampled chunk challenges from the `prevrandao` of its sample
    /// seed block (named when the aggregate was posted), proven by the block's RLP-encoded header.
    function drawSamples(uint256 roundId, bytes calldata sampleBlockHeader) external;

    /// @notice The aggregator of a proven round with more than MAX_PROVEN_TRAINERS trainers commits its link
    /// root (ILinkVerifier: one leaf per (chunk, link) cell) before posting the aggregate, which refuses to go
    /// without it (`LinkRootMissing`). It may replace it until then. The round's links per chunk become
    /// ceil(trainers / K) and its challenges name cells, `chunk * numLinks + link`.
    /// @param roundId the round, Aggregating before its aggregate deadline; only its aggregator may call
    /// @param linkRoot the keccak Merkle root over the cells' leaves, non-zero
    function postLinkRoot(uint256 roundId, bytes32 linkRoot) external;

    /// @notice Commits to a reward-bearing report without showing it: `commitHash` = `reportCommitHash(reporter,
    /// salt, report)`. Revealed in a later block with `revealReport`; only a report revealed so pays its reporter.
    function commitReport(bytes32 commitHash) external;

    /// @notice Runs a report committed in an earlier block by the caller, as the caller, with the caller as its
    /// reporter (the reporter share, or the challenger's share for `challenge`). `report` is the ABI-encoded call
    /// of one of: reportMissedAggregation, reportEquivocation, reportSignedConflict, resolveUnansweredChallenge,
    /// disputeStatement, challenge. The commitment is spent; the call's own revert is passed on.
    function revealReport(bytes32 salt, bytes calldata report) external returns (bytes memory result);

    /// @notice The commitment of `reporter` to `report` with `salt`: keccak256(abi.encode(reporter, salt,
    /// keccak256(report))). It names the reporter, so a copied reveal cannot pay anyone else.
    function reportCommitHash(address reporter, bytes32 salt, bytes calldata report) external pure returns (bytes32);

    /// @notice The block `commitHash` was committed in (0: none, or spent).
    function reportCommitBlock(bytes32 commitHash) external view returns (uint256);

    /// @notice Number of tasks and rounds created so far.
    function counts() external view returns (uint256 tasks, uint256 rounds);

    /// @notice What a bonded challenge of `roundId` locks: max(`challengeBond`, emission / 8).
    function challengeBondOf(uint256 roundId) external view returns (uint256);

    /// @notice A round's randomness record (selection deadline, lock and seed blocks, sample seed block).
    function getDraws(uint256 roundId) external view returns (ITrainingRounds.RoundDraws memory);

    /// @notice Draws the current group epoch's seed, in two calls: the first fixes its seed block SEED_BLOCK_DELAY
    /// blocks ahead; once that block is mined (and within 256 blocks), a call with its RLP-encoded `header` fixes
    /// the seed, keccak(prevrandao, epoch). Until then the epoch's group rounds take no update (nodes draw it when
    /// they find it missing). Anyone may call; a no-op once fixed; reverts (BlockHeader errors) while the seed block
    /// is pending unless given its header once it is mined.
    /// @param header the seed block's header (ignored by the first step)
    /// @return epoch the current group epoch (`block.timestamp / GROUP_EPOCH + 1`)
    function drawGroupSeed(bytes calldata header) external returns (uint256 epoch);

    /// @notice The seed that draws every operator's group in `epoch` (docs §7), and its seed block.
    /// @param epoch a group epoch
    /// @return seed the epoch's seed (zero if not fixed yet)
    /// @return seedBlock its seed block (0 if not drawn yet)
    function groupSeed(uint256 epoch) external view returns (bytes32 seed, uint256 seedBlock);

    /// @notice A task (zero-valued if unknown).
    function getTask(uint256 taskId) external view returns (ITrainingRounds.Task memory);

    /// @notice A round, with its trainers, commitments, sample counts and accepted weights (zero-valued if unknown).
    function getRound(uint256 roundId) external view returns (ITrainingRounds.Round memory);

    /// @notice A chunk challenge (status None if never challenged).
    function getChallenge(uint256 roundId, uint256 chunkIndex) external view returns (ITrainingRounds.Challenge memory);

    /// @notice The seed of a draw for `roundId` from block `seedBlock`'s `prevrandao`, read from its header.
    function seedFrom(bytes calldata header, uint256 seedBlock, uint256 roundId) external view returns (uint256);
}
