// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAggregationVerifier} from "./IAggregationVerifier.sol";

/// @title ITrainingRounds
/// @notice The types, events and errors of the round contract, and the functions a node, a dashboard or
/// another contract calls. Candidates and selection (`setAggregatorOptIn`, `pruneCandidates`,
/// `aggregatorCandidates`, `lockSelection`, `selectAggregator`, `drawSamples`, `getDraws`) and the `getTask`, `getRound`, `getChallenge` views are served by
/// RoundsExtension through TrainingRounds' fallback: IRoundSelection. The lifecycle is in docs/protocol.md §3.
interface ITrainingRounds {
    /// @notice Round states (ABI: uint8). Open: trainers commit. Aggregating: aggregator chosen, waiting for
    /// the aggregate. Challenging: aggregate posted, chunks may be challenged. Finalized: rewards credited.
    /// Failed: the model does not advance and the aggregator is unpaid. Trainers are paid only if the round
    /// failed after the aggregate was posted and the aggregator was slashed: by posted weight (proof of
    /// delivery), at most FAILED_ROUND_PAYOUT_BPS of the slashed stake (docs/protocol.md §3).
    enum RoundState {
        None,
        Open,
        Aggregating,
        Challenging,
        Finalized,
        Failed
    }

    /// @notice Chunk challenge states (ABI: uint8). Pending: waiting for the aggregator's proof. Answered: a
    /// valid proof was given (its statement may still be disputed). Failed: wrong proof, no answer in time,
    /// a disputed statement, or the bond was reclaimed after its round failed through another chunk.
    enum ChallengeStatus {
        None,
        Pending,
        Answered,
        Failed
    }

    /// @notice The role an operator signed in, for slashing by role (a trainer and an aggregator fault of the
    /// same operator in one round are separate faults, each slashed once).
    enum Role {
        Trainer,
        Aggregator
    }

    /// @notice Governance parameters, each bounded by the contract's hard limits. Changes are queued
    /// (`queueParams`) and apply to rounds opened after they take effect; a round keeps the version it opened with.
    struct Params {
        uint32 maxTrainersPerRound; // 1..MAX_TRAINERS_PER_ROUND
        uint64 maxSamplesPerTrainer; // cap on a trainer's self-reported sample count, <= MAX_WEIGHT (circuit)
        uint16 aggregatorRewardBps; // aggregator's share of a round's emission, <= 50%
        uint16 aggregatorSlashBps; // share of an aggregator's slashable stake taken on a fault, trainer rate..50%
        uint16 trainerSlashBps; // share of a trainer's slashable stake taken on equivocation, 1 bp..50%
        uint8 sampledChunks; // chunks challenged automatically from on-chain randomness, 1..MAX_SAMPLED_CHUNKS
        uint256 challengeBond; // tokens a challenger locks per challenge, 1..2^96-1
    }

    /// @notice What a task creator fixes for the task's whole life (`createTask`).
    struct TaskConfig {
        bytes32 modelRef; // content hash of the initial global model
        bytes32 specHash; // content address of the task spec (model, data, training recipe)
        uint32 numChunks; // chunks of the model's commitments (docs §4)
        uint8 ruleId; // the aggregation rule (docs/protocol.md §8: index in the node's rule list)
        bool proven; // rounds must be proven: challengeable; above MAX_PROVEN_TRAINERS by chained proofs
        uint256 rewardPerRound; // tokens emitted per round (less if the pool holds less)
        uint64 commitWindow; // seconds trainers have to commit after a round opens
        uint64 aggregateWindow; // seconds the aggregator has after the commit deadline
        uint64 challengeWindow; // seconds chunks may be challenged after the aggregate deadline
        uint64 answerWindow; // seconds the aggregator has per challenge (its proving time plus a transaction)
        uint64 disputeWindow; // seconds an answered statement stays disputable (a watcher's check plus a transaction)
        uint64 roundInterval; // minimum seconds between round openings, <= MAX_ROUND_INTERVAL
    }

    /// @notice A training task: its model, rules, reward pool and schedule.
    struct Task {
        address creator;
        uint32 numChunks; // chunks of the model's commitments (docs §4): fixes every Merkle opening's depth
        uint8 ruleId;
        bool proven;
        bool closed; // closed by its creator: no more rounds or funding; funders withdraw their share
        bool partialsOnly; // a parent task (`linkTask`): its rounds take only its child tasks' partials (docs §7)
        bytes32 modelRef; // the current global model: the initial model's content hash, then derived per round (docs §3)
        bytes32 specHash;
        uint256 rewardPool; // unreserved funding
        uint256 rewardPerRound;
        uint64 commitWindow;
        uint64 aggregateWindow;
        uint64 challengeWindow;
        uint64 answerWindow;
        uint64 disputeWindow;
        uint64 roundInterval; // minimum seconds between round openings
        uint64 nextOpenTime;
        uint256 activeRound; // 0 when none
        uint256 roundCount;
        uint256 totalContributed; // all funding ever added (refund shares are pro rata to it)
        uint256 refundBase; // the pool when the task closed
    }

    /// @notice One round of a task: deadlines, aggregator, aggregate and the trainers' commitments.
    struct Round {
        uint256 taskId;
        RoundState state;
        bool proven; // the task's rule: set at opening, never by the aggregator
        bool posted; // an aggregate was posted (its weights are the trainers' proof of delivery)
        bool partialsOnly; // the task's, fixed at opening: only `commitPartial` commits (docs §7)
        uint64 commitDeadline;
        uint64 aggregateDeadline;
        uint64 challengeDeadline; // aggregateDeadline + the challenge window; from the post once posted
        uint32 numChunks;
        uint32 pendingChallenges;
        address aggregator;
        uint64 disputeDeadline; // statements of answered challenges are disputable until then (0: none yet)
        IAggregationVerifier verifier;
        uint64 answerWindow; // the task's, fixed at opening
        uint32 challengeCount; // challenges ever opened, sampled and bonded (<= MAX_CHALLENGES_PER_ROUND)
        uint64 lastAnswerDeadline; // answer deadlines are spaced one answer window apart
        uint32 paramsVersion; // the parameters in force when the round opened
        uint32 numLinks; // chained proofs: links per chunk, ceil(trainers / K) (0: one flat proof per chunk)
        uint64 disputeWindow; // the task's, fixed at opening
        uint256 emission;
        bytes32 baseModelRef;
        bytes32 aggregateCommitment;
        bytes32 modelRef;
        bytes32 linkRoot; // chained proofs: root over the (chunk, link) cells (ILinkVerifier; 0: flat)
        address[] trainers;
        bytes32[] commitments;
        uint64[] sampleCounts; // packed 4 per slot: <= maxSamplesPerTrainer (a uint64)
        uint64[] weights; // accepted sample counts, <= sampleCounts
    }

    /// @notice Where a round's randomness comes from and which inputs were fixed before it (docs §3).
    /// Selection: `lockSelection` fixes the candidate list (`candidatesHash`) and the stakes (at `lockBlock`);
    /// the seed is the `prevrandao` of `seedBlock`, a later block. Sampling: posting the aggregate fixes
    /// `sampleSeedBlock`; `drawSamples` opens the sampled challenges from its `prevrandao`.
    struct RoundDraws {
        uint64 selectionDeadline; // commit deadline + aggregateWindow: later, the round fails unpaid
        uint64 lockBlock; // candidate list and selection stakes as of the end of this block
        uint64 seedBlock; // its prevrandao seeds the selection (0: not locked)
        uint64 sampleSeedBlock; // its prevrandao seeds the sampled chunks (0: nothing to draw)
        bool samplesDrawn;
        uint64 openBlock; // round slots compare trainers' active stake at openBlock - 1
        uint64 groupEpoch; // a group task's round: the group epoch it opened in (its seed draws the groups); else 0
        bytes32 candidatesHash; // keccak of the packed candidate list at the lock
        address backup; // drawn with the aggregator (same list, stakes and seed, never the aggregator itself);
        // takes over a missed aggregation (`reportMissedAggregation`); zero once it did, or if nobody else had stake
    }

    /// @notice A chunk challenge.
    /// @dev Two slots. The answer writes only the first (status and digest, already non-zero), so it pays
    /// no fresh-slot SSTORE. The digest is keccak truncated to 184 bits: a dispute must present bytes with
    /// this digest, and forging a different statement for an answered one is a second preimage (2^184 work);
    /// a collision helps no one, since the stored digest is of the bytes the verifier returned.
    struct Challenge {
        ChallengeStatus status;
        uint64 answerDeadline;
        bytes23 statementDigest; // truncated keccak of the answer's disputable statement (zero: none)
        address challenger; // zero for chunks sampled by the contract
        uint96 bond; // held until the round closes (an answer can still be disputed until then)
        bool revealed; // opened through revealReport: only then does a failed chunk pay its challenger a share
    }

    /// @notice A task was created.
    event TaskCreated(
        uint256 indexed taskId,
        address indexed creator,
        bytes32 modelRef,
        uint32 numChunks,
        uint256 rewardPerRound
    );
    /// @notice The task's fixed rules (with `TaskCreated`).
    event TaskRules(uint256 indexed taskId, bytes32 specHash, uint8 ruleId, bool proven, uint64 answerWindow);
    /// @notice A task's reward pool grew.
    event TaskFunded(uint256 indexed taskId, address indexed funder, uint256 amount, uint256 rewardPool);
    /// @notice The creator closed the task; `refundBase` is split among its funders pro rata.
    event TaskClosed(uint256 indexed taskId, uint256 refundBase);
    /// @notice A funder of a closed task was credited its share of the pool.
    event TaskRefunded(uint256 indexed taskId, address indexed funder, uint256 amount);
    /// @notice A round opened.
    event RoundOpened(
        uint256 indexed roundId,
        uint256 indexed taskId,
        bytes32 baseModelRef,
        uint64 commitDeadline,
        uint64 aggregateDeadline,
        uint64 challengeDeadline,
        uint256 emission
    );
    /// @notice A trainer committed its update.
    event UpdateCommitted(uint256 indexed roundId, address indexed trainer, bytes32 commitment, uint256 sampleCount);
    /// @notice The round's aggregator was chosen.
    event AggregatorSelected(uint256 indexed roundId, address indexed aggregator, uint256 seed);
    /// @notice `backup` will take over round `roundId`'s aggregation if the selected aggregator misses it.
    event BackupSelected(uint256 indexed roundId, address indexed backup);
    /// @notice The aggregator missed its deadline and `backup` took over with a full aggregate window.
    event AggregatorReplaced(uint256 indexed roundId, address indexed missed, address indexed backup);
    /// @notice The selection's inputs were fixed: `candidates` and stakes at `lockBlock`; the seed will be the
    /// `prevrandao` of `seedBlock`.
    event SelectionLocked(uint256 indexed roundId, uint64 lockBlock, uint64 seedBlock, address[] candidates);
    /// @notice Nobody selected an aggregator within the selection window (or nobody had stake): the round
    /// failed, nobody was slashed or paid, and the emission went back to the task pool.
    event SelectionExpired(uint256 indexed roundId);
    /// @notice A candidate left task `taskId`'s list without opting out: evicted by a newcomer or pruned as
    /// inactive.
    event CandidateRemoved(address indexed candidate, uint256 indexed taskId, address indexed by);
    /// @notice A trainer with more stake took the slot of `trainer`, the lowest-staked one, in a full round.
    event TrainerEvicted(uint256 indexed roundId, address indexed trainer, address indexed by);
    /// @notice The sampled chunks will be drawn from the `prevrandao` of `sampleSeedBlock`.
    event SamplesScheduled(uint256 indexed roundId, uint64 sampleSeedBlock);
    /// @notice The sampled chunks were drawn from `seed` and their challenges opened.
    event SamplesDrawn(uint256 indexed roundId, uint256 seed);
    /// @notice The aggregator posted its aggregate.
    /// `modelRef` is derived by the contract from the base model and the aggregate (docs/protocol.md §3);
    /// `aggregateData` is the sha256 of the encoded aggregate's bytes, the blob name nodes fetch it by.
    event AggregatePosted(
        uint256 indexed roundId,
        address indexed aggregator,
        bytes32 aggregateCommitment,
        bytes32 modelRef,
        bytes32 aggregateData,
        bool proven
    );
    /// @notice The aggregator of a round proven by chained proofs committed its link root (ILinkVerifier): one
    /// leaf per (chunk, link) cell; its challenges then name cells, `chunkIndex * numLinks + link`.
    event LinkRootPosted(uint256 indexed roundId, bytes32 linkRoot, uint32 numLinks);
    /// @notice A chunk was challenged (`challenger` zero: sampled by the contract). In a round proven by chained
    /// proofs (`numLinks` > 0), `chunkIndex` names a cell, `chunk * numLinks + link`.
    event ChunkChallenged(uint256 indexed roundId, uint256 indexed chunkIndex, address challenger, uint64 answerDeadline);
    /// @notice The aggregator answered a challenge with a valid proof.
    event ChallengeAnswered(uint256 indexed roundId, uint256 indexed chunkIndex, bytes statement);
    /// @notice An answered challenge's statement was shown false (`statementMismatch`); the round failed.
    event StatementDisputed(uint256 indexed roundId, uint256 indexed chunkIndex, address reporter);
    /// @notice An answered challenge's bond was paid out after its round closed (`to` zero: the task pool).
    event BondSettled(uint256 indexed roundId, uint256 indexed chunkIndex, address to, uint256 amount);
    /// @notice The aggregator failed a challenge (wrong proof or no answer in time).
    event ChallengeFailed(uint256 indexed roundId, uint256 indexed chunkIndex, address reporter);
    /// @notice The aggregator missed its deadline.
    event AggregationMissed(uint256 indexed roundId, address indexed aggregator, address reporter);
    /// @notice Equivocation by `signer` in `role` was proven (two signatures, or one against the chain).
    event EquivocationProven(uint256 indexed roundId, address indexed signer, bool aggregator, address reporter);
    /// @notice A reporter committed to a report it will reveal in a later block (`revealReport`).
    event ReportCommitted(bytes32 indexed commitHash, address indexed reporter);
    /// @notice A committed report was revealed and run, its reporter eligible for the reporter share.
    event ReportRevealed(bytes32 indexed commitHash, address indexed reporter, bytes4 report);
    /// @notice The round reached MAX_CHALLENGES_PER_ROUND: it fails without a slash once its challenges settle.
    event RoundContested(uint256 indexed roundId);
    /// @notice `childTaskId`'s finalized rounds may be committed as partials into `parentTaskId`'s rounds.
    event TaskLinked(uint256 indexed childTaskId, uint256 indexed parentTaskId);
    /// @notice Parent round `roundId` holds a partial from every group of its task: its commit phase ended at
    /// `commitDeadline` (now), its later deadlines moved up with it (docs §7).
    event CommitPhaseClosed(uint256 indexed roundId, uint64 commitDeadline);
    /// @notice A group round's aggregate was committed into its parent task's round as the trainer `leader`
    /// (the group round's aggregator), with sample count `groupWeight >> shift` (docs §7).
    event PartialCommitted(
        uint256 indexed roundId,
        uint256 indexed groupRoundId,
        address indexed leader,
        uint256 groupWeight,
        uint8 shift
    );
    /// @notice The round finalized (or failed) and rewards were credited.
    event RoundClosed(
        uint256 indexed roundId,
        RoundState state,
        uint256 paidToTrainers,
        uint256 paidToAggregator,
        uint256 returnedToPool
    );
    /// @notice `account` may now claim `amount` more.
    event RewardCredited(uint256 indexed roundId, address indexed account, uint256 amount);
    /// @notice `account` claimed `amount`.
    event RewardClaimed(address indexed account, uint256 amount);
    /// @notice An operator opted in or out of aggregator duty for task `taskId`'s rounds.
    event AggregatorOptIn(address indexed operator, uint256 indexed taskId, bool optedIn);
    /// @notice Parameters changed (at deployment).
    event ParamsChanged(Params params);
    /// @notice The verifier for future rounds changed (at deployment).
    event VerifierChanged(address indexed verifier);
    /// @notice New parameters apply to rounds opened from `effectiveTime`.
    event ParamsQueued(Params params, uint64 effectiveTime);
    /// @notice A new verifier applies to rounds opened from `effectiveTime`.
    event VerifierQueued(address indexed verifier, uint64 effectiveTime);

    /// @notice A required address was zero.
    error ZeroAddress();
    /// @notice A required amount was zero.
    error ZeroAmount();
    /// @notice No task has this ID.
    error UnknownTask(uint256 taskId);
    /// @notice A task's windows are below MIN_WINDOW, add up to more than MAX_ROUND_DURATION, or its round
    /// interval exceeds MAX_ROUND_INTERVAL.
    error InvalidSchedule();
    /// @notice The task was closed by its creator.
    error ClosedTask(uint256 taskId);
    /// @notice Only the task's creator may call.
    error NotTaskCreator(address caller);
    /// @notice The task is still open (refunds need a closed task).
    error TaskNotClosed(uint256 taskId);
    /// @notice The caller has no share of the closed task's pool.
    error NothingToRefund(uint256 taskId);
    /// @notice The round already had MAX_CHALLENGES_PER_ROUND challenges.
    error ChallengeLimit(uint256 roundId);
    /// @notice The task's next round may open only at `nextOpenTime`.
    error RoundNotDue(uint64 nextOpenTime);
    /// @notice The task's round `roundId` has not closed yet.
    error RoundStillActive(uint256 roundId);
    /// @notice The task has no funding left for a round.
    error EmptyRewardPool(uint256 taskId);
    /// @notice The round is in `state`, which does not allow this call.
    error WrongState(uint256 roundId, RoundState state);
    /// @notice Too late: the deadline passed.
    error DeadlinePassed(uint64 deadline);
    /// @notice Too early: the deadline has not passed yet.
    error DeadlineNotReached(uint64 deadline);
    /// @notice `account` has less than the registry's minimum active stake.
    error NotActiveOperator(address account);
    /// @notice `trainer` already committed in this round.
    error AlreadyCommitted(address trainer);
    /// @notice The round already has `maxTrainers` trainers.
    error RoundFull(uint256 maxTrainers);
    /// @notice A sample count of zero or above `max`.
    error InvalidSampleCount(uint256 sampleCount, uint256 max);
    /// @notice No opted-in candidate has active stake.
    error NoCandidates();
    /// @notice Only the round's aggregator may call.
    error NotAggregator(address caller);
    /// @notice Weights of the wrong length or above a trainer's sample count.
    error InvalidWeights();
    /// @notice `chunkIndex` is not below the round's chunk count.
    error InvalidChunk(uint256 chunkIndex, uint32 numChunks);
    /// @notice A task with zero chunks.
    error InvalidChunkCount();
    /// @notice The round was posted unproven: it cannot be challenged.
    error UnprovenRound(uint256 roundId);
    /// @notice The chunk was already challenged in this round.
    error AlreadyChallenged(uint256 chunkIndex);
    /// @notice The chunk has no challenge in the state this call needs.
    error NoPendingChallenge(uint256 chunkIndex);
    /// @notice `count` challenges are still unanswered.
    error PendingChallenges(uint32 count);
    /// @notice The evidence does not prove the claim (identical pairs, signers differ, statement mismatch).
    error InvalidEvidence();
    /// @notice `signer` was already slashed for equivocation in this round and role.
    error AlreadySlashed(address signer);
    /// @notice No commitment `commitHash` from an earlier block (never made, spent, or made in this block).
    error ReportNotCommitted(bytes32 commitHash);
    /// @notice `commitHash` was committed already.
    error ReportAlreadyCommitted(bytes32 commitHash);
    /// @notice `revealReport` runs reward-bearing reports only; `selector` is not one.
    error NotAReport(bytes4 selector);
    /// @notice The caller has nothing credited.
    error NothingToClaim();
    /// @notice The candidate list is full (MAX_AGGREGATOR_CANDIDATES).
    error TooManyCandidates();
    /// @notice The selection is locked and its seed block is still usable.
    error SelectionAlreadyLocked(uint64 seedBlock);
    /// @notice `lockSelection` has not been called for this round (or its seed expired: lock again).
    error SelectionNotLocked(uint256 roundId);
    /// @notice The candidate list passed is not the one fixed at the lock.
    error InvalidCandidates();
    /// @notice The round has no sampled chunks left to draw.
    error NothingToDraw(uint256 roundId);
    /// @notice The round's sampled chunks have not been drawn yet (`drawSamples`).
    error SamplesNotDrawn(uint256 roundId);
    /// @notice Parameters outside their hard bounds.
    error ParamsOutOfBounds();
    /// @notice The dispute's evidence does not show the statement false.
    error StatementCorrect();
    /// @notice The chunk's challenge has no bond to pay out.
    error NothingToSettle(uint256 chunkIndex);
    /// @notice A proven round of more than MAX_PROVEN_TRAINERS trainers posts its link root before its aggregate.
    error LinkRootMissing(uint256 roundId);
    /// @notice The round is not proven by chained proofs (unproven, or at most MAX_PROVEN_TRAINERS trainers).
    error NotChained(uint256 roundId);
    /// @notice The round belongs to a parent task: it takes partials (`commitPartial`), not updates.
    error PartialsOnly(uint256 roundId);
    /// @notice The caller is not in this group task's group under the round's group seed (docs §7), the seed of
    /// the round's epoch is not drawn yet (`drawGroupSeed`), or the round opened before its task was linked.
    error NotGroupMember(address operator, uint256 taskId);
    /// @notice The caller's stake was below the minimum before the round's group seed was drawn: it trains in
    /// group rounds from the next group epoch on.
    error StakeNewerThanGroupSeed(address operator, uint256 epoch);
    /// @notice The round does not take partials (its task is no parent task).
    error NotPartialsRound(uint256 roundId);
    /// @notice The group round is not a round of a child of this round's task on this round's base model.
    error NotGroupOf(uint256 groupRoundId, uint256 roundId);
    /// @notice The group round's partial was already committed.
    error PartialTaken(uint256 groupRoundId);
    /// @notice The tasks cannot be linked (see `linkTask`).
    error InvalidLink(uint256 childTaskId, uint256 parentTaskId);

    /// @notice Registers a training task; returns its ID.
    function createTask(TaskConfig calldata config) external returns (uint256 taskId);

    /// @notice Adds `amount` tokens to a task's reward pool.
    function fundTask(uint256 taskId, uint256 amount) external;

    /// @notice The creator closes a task with no active round; its funders withdraw the pool pro rata.
    function closeTask(uint256 taskId) external;

    /// @notice Credits the caller's pro-rata share of a closed task's pool; returns it.
    function withdrawTaskRefund(uint256 taskId) external returns (uint256 amount);

    /// @notice Opens the task's next round when it is due; returns the round's ID.
    function openRound(uint256 taskId) external returns (uint256 roundId);

    /// @notice Commits the caller's update for `roundId`.
    function commitUpdate(uint256 roundId, bytes32 commitment, uint256 sampleCount) external;

    /// @notice Commits a finalized round of a child task (the group round) into its parent task's open round:
    /// its aggregate commitment as the caller's update, its posted weights' sum as the sample count (docs §7).
    function commitPartial(uint256 roundId, uint256 groupRoundId) external;


    /// @notice The aggregator posts the round's aggregate.
    function postAggregate(
        uint256 roundId,
        bytes32 aggregateCommitment,
        bytes32 aggregateData,
        uint256[] calldata weights
    ) external;

    /// @notice Challenges a chunk of a proven round's aggregate, locking the challenge bond.
    function challenge(uint256 roundId, uint256 chunkIndex) external;

    /// @notice The aggregator answers a chunk challenge with a proof.
    function answerChallenge(uint256 roundId, uint256 chunkIndex, bytes calldata proof) external;

    /// @notice Shows that an answered challenge's statement is false.
    function disputeStatement(
        uint256 roundId,
        uint256 chunkIndex,
        bytes calldata statement,
        bytes calldata evidence
    ) external;

    /// @notice Pays out an answered challenge's bond once its round closed.
    function settleBond(uint256 roundId, uint256 chunkIndex) external;

    /// @notice Fails a challenge left unanswered past its deadline.
    function resolveUnansweredChallenge(uint256 roundId, uint256 chunkIndex) external;

    /// @notice Returns a bond left pending when its round failed through another chunk.
    function reclaimBond(uint256 roundId, uint256 chunkIndex) external;

    /// @notice Slashes an aggregator that missed its aggregation deadline.
    function reportMissedAggregation(uint256 roundId) external;

    /// @notice Finalizes a round whose challenge and dispute windows passed with every challenge answered.
    function finalizeRound(uint256 roundId) external;

    /// @notice Slashes an operator that signed two different results for the same round.
    function reportEquivocation(
        uint256 roundId,
        bool isAggregate,
        bytes32[2] calldata a,
        bytes calldata signatureA,
        bytes32[2] calldata b,
        bytes calldata signatureB
    ) external;

    /// @notice Slashes an operator whose one signed message differs from what it put on chain.
    function reportSignedConflict(
        uint256 roundId,
        bool isAggregate,
        bytes32[2] calldata signed,
        bytes calldata signature
    ) external;

    /// @notice Transfers everything credited to the caller; returns the amount.
    function claim() external returns (uint256 amount);


    /// @notice Queues new parameters (owner); they apply to rounds opened after the delay.
    function queueParams(Params calldata params_) external;

    /// @notice Queues a new verifier (owner); it applies to rounds opened after the delay.
    function queueVerifier(IAggregationVerifier verifier_) external;

    /// @notice Parameters in force for rounds opened now.
    function params() external view returns (Params memory);

    /// @notice The parameters a round opened with.
    function roundParams(uint256 roundId) external view returns (Params memory);

    /// @notice Queued parameters and when they take effect (0: none queued).
    function pendingParams() external view returns (Params memory, uint64 effectiveTime);

    /// @notice The verifier for rounds opened now.
    function verifier() external view returns (IAggregationVerifier);

    /// @notice A queued verifier and when it takes effect (zero address: none queued).
    function pendingVerifier() external view returns (IAggregationVerifier, uint64 effectiveTime);

    /// @notice What `account` can claim now.
    function claimable(address account) external view returns (uint256);


    /// @notice Accounting totals: all funding ever received, rewards credited but unclaimed, bonds locked.
    function totals() external view returns (uint256 funded, uint256 unclaimed, uint256 bonds);

    /// @notice The EIP-712 digest a trainer signs for a commitment.
    function commitmentDigest(uint256 roundId, bytes32 commitment, uint256 sampleCount) external view returns (bytes32);

    /// @notice The EIP-712 digest an aggregator signs for an aggregate.
    function aggregateDigest(uint256 roundId, bytes32 aggregateCommitment, bytes32 modelRef) external view returns (bytes32);
}
