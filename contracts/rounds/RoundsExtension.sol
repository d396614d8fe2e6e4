// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IRoundSelection} from "../interfaces/IRoundSelection.sol";
import {IStakeRegistry} from "../interfaces/IStakeRegistry.sol";
import {ITrainingRounds} from "../interfaces/ITrainingRounds.sol";
import {BlockHeader} from "./BlockHeader.sol";
import {CandidatesExtension} from "./CandidatesExtension.sol";
import {ChallengeExtension} from "./ChallengeExtension.sol";
import {CreateTaskExtension} from "./CreateTaskExtension.sol";
import {RoundClaimsExtension} from "./RoundClaimsExtension.sol";
import {RoundsStorage} from "./RoundsStorage.sol";

/// @title RoundsExtension
/// @notice The unbiasable two-step selection among a task's aggregator candidates (CandidatesExtension), run
/// at TrainingRounds' address:
/// TrainingRounds' fallback delegatecalls here, so this code acts on its storage with the caller as
/// `msg.sender` (TrainingRounds alone would exceed the 24 KiB code limit). Called directly, it acts on its
/// own empty storage and holds nothing. It also draws a proven aggregate's sampled chunks, and runs
/// `createTask` and `challenge` for TrainingRounds' entry points of the same name.
/// @dev Selection: after the commit deadline `lockSelection` fixes the candidate list (hashed, emitted in
/// full) and the stakes that weigh it (registry checkpoints at the lock block) and names a seed block
/// SEED_BLOCK_DELAY blocks later; once it is mined, `selectAggregator` draws stake-weighted from that block's
/// `prevrandao`, proven by its header. Everything the draw reads was fixed before its randomness existed.
/// Bootstrapping: if no candidate had stake at the lock, the draw runs over the round's own trainers. Bounded:
/// without a selection by the selection deadline (commit deadline + aggregateWindow) the next lock or select
/// fails the round unpaid, slashing nobody. Candidates volunteer per task: a round draws only among its own
/// task's volunteers, so an operator is never held to aggregate a task it does not run (with one global list,
/// an honest volunteer of one task was drawn for another's round, or a group task's, and slashed for missing
/// it).
contract RoundsExtension is
    RoundsStorage,
    RoundClaimsExtension,
    CreateTaskExtension,
    ChallengeExtension,
    CandidatesExtension
{
    /// @notice Slots a commit into a full round draws to find the one it takes (`takeSlot`): bounds the
    /// eviction at 16 stake reads (~141k gas) whatever the round's size. 16 draws of 16 bits are one hash.
    uint256 public constant EVICTION_SAMPLE = 16;

    /// @dev Domain separator of the backup's draw from the selection seed.
    bytes32 private constant BACKUP_DRAW = keccak256("vain.backup-aggregator");

    /// @notice `takeSlot` was called other than from TrainingRounds.commitUpdate.
    error SlotOnlyFromCommit();

    /// @custom:storage-location erc7201:vain.storage.ReportCommits
    struct ReportCommitsStorage {
        mapping(bytes32 commitHash => uint256 blockNumber) committedAt;
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("vain.storage.ReportCommits")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant REPORT_COMMITS_SLOT = 0x9280de4aa74514d7c539d0db80ab8c996bb916aba9ace78d0522ae8026435400;

    /// @param token_ the reward token (as TrainingRounds')
    /// @param registry_ the stake registry (as TrainingRounds')
    constructor(IERC20 token_, IStakeRegistry registry_) RoundsStorage(token_, registry_) Ownable(msg.sender) {}

    // ================================================================ reports (commit-reveal)

    /// @inheritdoc IRoundSelection
    /// @dev Anyone. The hash shows neither the report nor the offender: a watcher of the mempool learns only
    /// that something will be reported.
    function commitReport(bytes32 commitHash) external {
        ReportCommitsStorage storage r = _reportCommits();
        if (r.committedAt[commitHash] != 0) revert ITrainingRounds.ReportAlreadyCommitted(commitHash);
        r.committedAt[commitHash] = block.number;
        emit ITrainingRounds.ReportCommitted(commitHash, msg.sender);
    }

    /// @inheritdoc IRoundSelection
    /// @dev At least one block after the commitment, so the reporter fixed its claim before the report was
    /// visible; whoever copies the revealed report can only send it directly, which pays no reporter. Runs the
    /// report by delegatecall on this address (TrainingRounds' code and storage, `msg.sender` kept) with the
    /// transient REVEALED_REPORTER set to the caller, which is what makes the report pay it.
    function revealReport(bytes32 salt, bytes calldata report) external returns (bytes memory result) {
        bytes4 selector = bytes4(report);
        if (
            selector != ITrainingRounds.reportMissedAggregation.selector &&
            selector != ITrainingRounds.reportEquivocation.selector &&
            selector != ITrainingRounds.reportSignedConflict.selector &&
            selector != ITrainingRounds.resolveUnansweredChallenge.selector &&
            selector != ITrainingRounds.disputeStatement.selector &&
            selector != ITrainingRounds.challenge.selector
        ) revert ITrainingRounds.NotAReport(selector);
        bytes32 commitHash = _reportCommitHash(msg.sender, salt, report);
        ReportCommitsStorage storage r = _reportCommits();
        uint256 committedAt = r.committedAt[commitHash];
        if (committedAt == 0 || committedAt >= block.number) revert ITrainingRounds.ReportNotCommitted(commitHash);
        delete r.committedAt[commitHash];
        emit ITrainingRounds.ReportRevealed(commitHash, msg.sender, selector);
        bytes32 slot = REVEALED_REPORTER;
        address reporter = msg.sender;
        assembly {
            tstore(slot, reporter)
        }
        bool ok;
        (ok, result) = address(this).delegatecall(report);
        assembly {
            tstore(slot, 0)
        }
        if (!ok) {
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
    }

    /// @inheritdoc IRoundSelection
    function reportCommitHash(address reporter, bytes32 salt, bytes calldata report) external pure returns (bytes32) {
        return _reportCommitHash(reporter, salt, report);
    }

    /// @inheritdoc IRoundSelection
    function reportCommitBlock(bytes32 commitHash) external view returns (uint256) {
        return _reportCommits().committedAt[commitHash];
    }

    // ================================================================ selection

    /// @inheritdoc IRoundSelection
    /// @dev Anyone, after the commit deadline; again only once the seed block's hash expired (256 blocks)
    /// without a selection. A round nobody committed to closes at once; past the selection deadline the round
    /// fails unpaid.
    function lockSelection(uint256 roundId) external {
        ITrainingRounds.Round storage round = _openRound(roundId);
        if (block.timestamp <= round.commitDeadline) revert ITrainingRounds.DeadlineNotReached(round.commitDeadline);
        ITrainingRounds.RoundDraws storage draws = _draws[roundId];
        if (round.trainers.length == 0 || _selectionExpired(roundId, round, draws)) {
            _closeUnpaid(roundId, round);
            return;
        }
        uint64 seedBlock = draws.seedBlock;
        if (seedBlock != 0 && block.number <= seedBlock + 256) revert ITrainingRounds.SelectionAlreadyLocked(seedBlock);
        address[] memory candidates = _candidates(round.taskId).list;
        draws.lockBlock = uint64(block.number);
        draws.seedBlock = uint64(block.number + SEED_BLOCK_DELAY);
        draws.candidatesHash = keccak256(abi.encodePacked(candidates));
        emit ITrainingRounds.SelectionLocked(roundId, draws.lockBlock, draws.seedBlock, candidates);
    }

    /// @inheritdoc IRoundSelection
    /// @dev Stake-weighted (stakes at the lock block) among the candidates fixed at the lock, or among the
    /// round's trainers if none of them had stake. The aggregator gets a full aggregateWindow from now (the
    /// challenge deadline follows), so a late selection can never make a missed aggregation.
    function selectAggregator(
        uint256 roundId,
        address[] calldata candidates,
        bytes calldata seedBlockHeader
    ) external returns (address aggregator) {
        ITrainingRounds.Round storage round = _openRound(roundId);
        ITrainingRounds.RoundDraws storage draws = _draws[roundId];
        if (draws.seedBlock == 0) revert ITrainingRounds.SelectionNotLocked(roundId);
        if (_selectionExpired(roundId, round, draws)) {
            _closeUnpaid(roundId, round);
            return address(0);
        }
        if (keccak256(abi.encodePacked(candidates)) != draws.candidatesHash) revert ITrainingRounds.InvalidCandidates();
        uint256 seed = _seed(seedBlockHeader, draws.seedBlock, roundId);
        aggregator = _drawAggregatorAndBackup(roundId, round, draws.lockBlock, candidates, seed);
        if (aggregator == address(0)) {
            // Nobody, not even a trainer, had stake at the lock: nobody can be held to the duty.
            emit ITrainingRounds.SelectionExpired(roundId);
            _closeUnpaid(roundId, round);
            return address(0);
        }
        ITrainingRounds.Task storage task = _tasks[round.taskId];
        round.aggregator = aggregator;
        round.state = ITrainingRounds.RoundState.Aggregating;
        round.aggregateDeadline = uint64(block.timestamp + task.aggregateWindow);
        round.challengeDeadline = round.aggregateDeadline + task.challengeWindow;
        emit ITrainingRounds.AggregatorSelected(roundId, aggregator, seed);
    }

    /// @inheritdoc IRoundSelection
    /// @dev Reverts (BlockHeader errors) unless `header` is block `seedBlock`'s and that block is one of the
    /// 256 most recent.
    function seedFrom(bytes calldata header, uint256 seedBlock, uint256 roundId) external view returns (uint256) {
        return _seed(header, seedBlock, roundId);
    }

    // ================================================================ chained proofs

    /// @inheritdoc IRoundSelection
    /// @dev Here rather than in TrainingRounds, which is near the code size limit. Refused for a round that
    /// is proven flat (at most MAX_PROVEN_TRAINERS trainers) or unproven: its challenges name chunks.
    function postLinkRoot(uint256 roundId, bytes32 linkRoot) external {
        ITrainingRounds.Round storage round = _rounds[roundId];
        if (round.state != ITrainingRounds.RoundState.Aggregating) {
            revert ITrainingRounds.WrongState(roundId, round.state);
        }
        if (msg.sender != round.aggregator) revert ITrainingRounds.NotAggregator(msg.sender);
        if (block.timestamp > round.aggregateDeadline) revert ITrainingRounds.DeadlinePassed(round.aggregateDeadline);
        uint256 n = round.trainers.length;
        if (!round.proven || n <= MAX_PROVEN_TRAINERS) revert ITrainingRounds.NotChained(roundId);
        if (linkRoot == bytes32(0)) revert ITrainingRounds.LinkRootMissing(roundId);
        // Commits above the flat fan-in are admitted only when the round's verifier has a link verifier.
        uint256 k = round.verifier.linkVerifier().LINK_TRAINERS();
        uint32 numLinks = uint32((n + k - 1) / k); // n <= MAX_WEIGHTS_ARRAY (proven rounds)
        round.linkRoot = linkRoot;
        round.numLinks = numLinks;
        emit ITrainingRounds.LinkRootPosted(roundId, linkRoot, numLinks);
    }

    // ================================================================ sampling

    /// @inheritdoc IRoundSelection
    /// @dev The aggregate was fixed before the seed block's randomness existed, so the aggregator cannot
    /// steer the samples; each answer deadline counts from the draw; a late draw moves only time, and if the
    /// seed block's hash expired (256 blocks) undrawn, a new seed block is named instead.
    function drawSamples(uint256 roundId, bytes calldata sampleBlockHeader) external {
        ITrainingRounds.Round storage round = _rounds[roundId];
        if (round.state != ITrainingRounds.RoundState.Challenging) {
            revert ITrainingRounds.WrongState(roundId, round.state);
        }
        ITrainingRounds.RoundDraws storage draws = _draws[roundId];
        uint256 seedBlock = draws.sampleSeedBlock;
        if (seedBlock == 0 || draws.samplesDrawn) revert ITrainingRounds.NothingToDraw(roundId);
        if (block.number > seedBlock + 256) return _scheduleSamples(roundId);
        uint256 seed = _seed(sampleBlockHeader, seedBlock, roundId);
        draws.samplesDrawn = true;
        emit ITrainingRounds.SamplesDrawn(roundId, seed);
        // A round proven by chained proofs samples (chunk, link) cells: a lie sits in one link of a chunk.
        uint256 cells = _cellCount(round);
        uint256 sampled = _paramsAt[round.paramsVersion].sampledChunks;
        uint256 samples = sampled < cells ? sampled : cells;
        for (uint256 i = 0; i < samples; ++i) {
            uint256 chunk = uint256(keccak256(abi.encode(seed, i))) % cells;
            if (_challenges[roundId][chunk].status == ITrainingRounds.ChallengeStatus.None) {
                _openChallenge(roundId, round, chunk, address(0), 0);
            }
        }
    }

    /// @inheritdoc IRoundSelection
    /// @dev Here rather than in TrainingRounds, which is at the code size limit.
    function counts() external view returns (uint256 tasks, uint256 rounds) {
        return (_taskCount, _roundCount);
    }

    /// @inheritdoc IRoundSelection
    function challengeBondOf(uint256 roundId) external view returns (uint256) {
        return _challengeBondOf(_rounds[roundId]);
    }

    /// @inheritdoc IRoundSelection
    function getDraws(uint256 roundId) external view returns (ITrainingRounds.RoundDraws memory) {
        return _draws[roundId];
    }

    /// @inheritdoc IRoundSelection
    /// @dev Two steps, as the selection's draws: the first call fixes the seed block SEED_BLOCK_DELAY ahead (whose
    /// `prevrandao` nobody sending it knows: a block's is known once its parent is out), a call with that block's
    /// header then fixes the seed (any other call while the seed block is pending reverts, BlockHeader errors). A
    /// seed block that passed out of `blockhash` reach unproven is replaced.
    function drawGroupSeed(bytes calldata header) external returns (uint256 epoch) {
        epoch = block.timestamp / GROUP_EPOCH + 1;
        uint256 seedBlock = _groupSeedBlock[epoch];
        if (_groupSeed[epoch] != 0) return epoch;
        if (seedBlock == 0 || block.number > seedBlock + 256) {
            _groupSeedBlock[epoch] = block.number + SEED_BLOCK_DELAY;
            return epoch;
        }
        // No event: the seed is read with `groupSeed` (the initcode limit, EIP-3860, has no room for one).
        _groupSeed[epoch] = keccak256(abi.encode(BlockHeader.prevrandao(header, seedBlock), epoch));
    }

    /// @inheritdoc IRoundSelection
    function groupSeed(uint256 epoch) external view returns (bytes32 seed, uint256 seedBlock) {
        return (_groupSeed[epoch], _groupSeedBlock[epoch]);
    }

    /// @inheritdoc IRoundSelection
    /// @dev The three views are here rather than in TrainingRounds: their ABI encoders (a round carries four
    /// arrays) took room the round game needs under the 24 KiB code limit.
    function getTask(uint256 taskId) external view returns (ITrainingRounds.Task memory) {
        return _tasks[taskId];
    }

    /// @inheritdoc IRoundSelection
    function getRound(uint256 roundId) external view returns (ITrainingRounds.Round memory) {
        return _rounds[roundId];
    }

    /// @inheritdoc IRoundSelection
    function getChallenge(uint256 roundId, uint256 chunkIndex) external view returns (ITrainingRounds.Challenge memory) {
        return _challenges[roundId][chunkIndex];
    }

    // ================================================================ round slots

    /// @notice A full round's slots go to stake: the committer (`msg.sender`) takes the slot of the trainer
    /// with the least active stake at the block before the round opened among EVICTION_SAMPLE slots drawn at
    /// random (every slot when the round has no more), if it had strictly more (`TrainerEvicted`); else
    /// reverts `RoundFull`. Callable only from TrainingRounds.commitUpdate (a transient flag it sets around the
    /// delegatecall), never through the fallback.
    /// @dev Stakes fixed before the round existed cannot be moved in to push trainers out (or topped up to
    /// defend a slot) during the commit window: holding all N slots costs N stakes each above the N-th largest
    /// honest trainer's, staked before the opening and locked for the unbonding delay.
    /// Why a sample and not the least-staked of all: a scan reads every trainer's checkpointed stake (~8.8k
    /// gas each), so a sybil that fills a 1,000-slot round with minimum stakes made every honest commit after
    /// it cost ~8.85M gas. The sample bounds the eviction at EVICTION_SAMPLE reads whatever N. What it gives
    /// up: the evicted slot is the least-staked of the sample, not of the round, and a committer that beats
    /// only a few slots may miss them (`RoundFull`; the next block draws anew). Against the sybil fill every
    /// sampled slot is a sybil's. The draw (prevrandao, round, committer, round size) can be waited for, so a
    /// committer can aim at one trainer staked below it rather than the round's least; that trainer may take
    /// a slot back the same way, and the aim costs the committer a stake above its target's, as any eviction.
    /// Indices are 16-bit draws mod N: a bias below 2% between slots at N <= MAX_TRAINERS_PER_ROUND.
    /// @param roundId the open round
    /// @param maxTrainers the round's cap (for the `RoundFull` error)
    function takeSlot(uint256 roundId, uint256 maxTrainers) external {
        bytes32 guard = SLOT_GUARD;
        uint256 entered;
        assembly {
            entered := tload(guard)
        }
        if (entered != 1) revert SlotOnlyFromCommit();
        ITrainingRounds.Round storage round = _rounds[roundId];
        uint256 atBlock = _draws[roundId].openBlock - 1;
        (uint256 lowest, uint256 lowestStake) = _leastStakedDrawn(roundId, round.trainers, atBlock);
        if (registry.activeStakeAt(msg.sender, atBlock) <= lowestStake) {
            revert ITrainingRounds.RoundFull(maxTrainers);
        }
        uint256 last = round.trainers.length - 1;
        address evicted = round.trainers[lowest];
        address moved = round.trainers[last];
        round.trainers[lowest] = moved;
        round.commitments[lowest] = round.commitments[last];
        round.sampleCounts[lowest] = round.sampleCounts[last];
        _trainerIndex[roundId][moved] = lowest + 1;
        round.trainers.pop();
        round.commitments.pop();
        round.sampleCounts.pop();
        delete _trainerIndex[roundId][evicted];
        emit ITrainingRounds.TrainerEvicted(roundId, evicted, msg.sender);
    }

    // ================================================================ internal

    /// @dev The least-staked (at `atBlock`) of EVICTION_SAMPLE slots drawn from (prevrandao, round, committer,
    /// size), or of all of them in a round no larger (`takeSlot`); its index and stake.
    function _leastStakedDrawn(
        uint256 roundId,
        address[] storage trainers,
        uint256 atBlock
    ) private view returns (uint256 lowest, uint256 lowestStake) {
        uint256 n = trainers.length;
        bool sampled = n > EVICTION_SAMPLE;
        uint256 draw = sampled ? uint256(keccak256(abi.encode(block.prevrandao, roundId, msg.sender, n))) : 0;
        lowestStake = type(uint256).max;
        for (uint256 j = 0; j < (sampled ? EVICTION_SAMPLE : n); ++j) {
            // 16 draws of 16 bits use the 256-bit hash exactly once.
            uint256 i = sampled ? uint16(draw >> (16 * j)) % n : j;
            uint256 stake = registry.activeStakeAt(trainers[i], atBlock);
            if (stake < lowestStake) (lowest, lowestStake) = (i, stake);
        }
    }

    /// @dev keccak(prevrandao of `seedBlock`, roundId): rounds sharing a seed block draw independently.
    function _seed(bytes calldata header, uint256 seedBlock, uint256 roundId) private view returns (uint256) {
        return uint256(keccak256(abi.encode(BlockHeader.prevrandao(header, seedBlock), roundId)));
    }

    function _reportCommitHash(address reporter, bytes32 salt, bytes calldata report) private pure returns (bytes32) {
        return keccak256(abi.encode(reporter, salt, keccak256(report)));
    }

    function _reportCommits() private pure returns (ReportCommitsStorage storage r) {
        bytes32 slot = REPORT_COMMITS_SLOT;
        assembly {
            r.slot := slot
        }
    }

    /// @dev The round, which must be Open.
    function _openRound(uint256 roundId) private view returns (ITrainingRounds.Round storage round) {
        round = _rounds[roundId];
        if (round.state != ITrainingRounds.RoundState.Open) revert ITrainingRounds.WrongState(roundId, round.state);
    }

    /// @dev True (and `SelectionExpired` emitted) once the selection deadline has passed.
    function _selectionExpired(
        uint256 roundId,
        ITrainingRounds.Round storage round,
        ITrainingRounds.RoundDraws storage draws
    ) private returns (bool) {
        if (block.timestamp <= draws.selectionDeadline || round.trainers.length == 0) return false;
        emit ITrainingRounds.SelectionExpired(roundId);
        return true;
    }

    /// @dev Fails a round that never had an aggregator: nobody delivered anything the chain can check, so the
    /// whole emission returns to the pool (what RoundRewards' `_close(Failed)` does for an unposted round).
    function _closeUnpaid(uint256 roundId, ITrainingRounds.Round storage round) private {
        round.state = ITrainingRounds.RoundState.Failed;
        ITrainingRounds.Task storage task = _tasks[round.taskId];
        task.activeRound = 0;
        uint256 emission = round.emission;
        task.rewardPool += emission;
        emit ITrainingRounds.RoundClosed(roundId, ITrainingRounds.RoundState.Failed, 0, 0, emission);
    }

    /// @dev The stake-weighted draw (stakes at `lockBlock`) among the candidates, or among the round's trainers if
    /// no candidate had stake; zero if nobody had. The backup comes from the same inputs and a domain-separated
    /// seed, so it is as unbiasable as the aggregator, and never the aggregator itself (its stake is left out of
    /// the second draw). With no other staked candidate (a young network with one volunteer) the backup is drawn
    /// among the round's trainers, as the bootstrapping rule draws an aggregator: staked, and online since they
    /// just committed. Stored in `RoundDraws.backup` (zero: none).
    function _drawAggregatorAndBackup(
        uint256 roundId,
        ITrainingRounds.Round storage round,
        uint64 lockBlock,
        address[] memory candidates,
        uint256 seed
    ) private returns (address aggregator) {
        address[] memory pool = candidates;
        (uint256[] memory stakes, uint256 total) = _stakesAt(pool, lockBlock);
        bool fromTrainers = total == 0;
        if (fromTrainers) {
            pool = round.trainers;
            (stakes, total) = _stakesAt(pool, lockBlock);
        }
        if (total == 0) return address(0);
        uint256 picked = _pick(stakes, seed % total);
        aggregator = pool[picked];
        total -= stakes[picked];
        stakes[picked] = 0;
        if (total == 0 && !fromTrainers) {
            pool = round.trainers;
            (stakes, total) = _stakesAt(pool, lockBlock);
            for (uint256 i = 0; i < pool.length; ++i) {
                if (pool[i] == aggregator) {
                    total -= stakes[i];
                    stakes[i] = 0;
                }
            }
        }
        if (total == 0) return aggregator;
        address backup = pool[_pick(stakes, uint256(keccak256(abi.encode(seed, BACKUP_DRAW))) % total)];
        _draws[roundId].backup = backup;
        emit ITrainingRounds.BackupSelected(roundId, backup);
    }

    /// @dev Each operator's active stake at the end of block `atBlock`, and their sum.
    function _stakesAt(
        address[] memory list,
        uint256 atBlock
    ) private view returns (uint256[] memory stakes, uint256 total) {
        uint256 n = list.length;
        stakes = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            stakes[i] = registry.activeStakeAt(list[i], atBlock);
            total += stakes[i];
        }
    }

    /// @dev The index whose cumulative-stake interval holds `target` (< the sum of `stakes`).
    function _pick(uint256[] memory stakes, uint256 target) private pure returns (uint256) {
        uint256 n = stakes.length;
        for (uint256 i = 0; i < n; ++i) {
            if (target < stakes[i]) return i;
            target -= stakes[i];
        }
        return n; // unreachable: target < total
    }
}
