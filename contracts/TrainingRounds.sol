// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IAggregationVerifier} from "./interfaces/IAggregationVerifier.sol";
import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";

/// @title TrainingRounds
/// @notice The on-chain life of a federated training round: tasks and their reward pools, rounds opened
/// permissionlessly on schedule, trainer commitments, stake-weighted aggregator selection, the aggregate,
/// sampled and bonded chunk challenges answered with zk proofs, slashing of provable faults, and exact,
/// pull-based rewards. See docs/protocol.md §3 for the lifecycle.
contract TrainingRounds is Ownable2Step, Pausable, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice Basis-point denominator.
    uint256 public constant BPS = 10_000;
    /// @notice Hard cap on trainers per round: the zk circuit's fan-in. Bounds every loop over trainers.
    uint256 public constant MAX_TRAINERS_PER_ROUND = 16;
    /// @notice Hard cap on opted-in aggregator candidates: bounds the selection loop.
    uint256 public constant MAX_AGGREGATOR_CANDIDATES = 64;
    /// @notice Hard cap on a round's total duration (commit + aggregate + challenge + answer + dispute windows); kept
    /// below StakeRegistry.MIN_UNBONDING_DELAY so stake cannot leave before its round is judged.
    uint256 public constant MAX_ROUND_DURATION = 12 hours;
    /// @notice Shortest allowed phase window.
    uint256 public constant MIN_WINDOW = 30 seconds;
    /// @notice Most chunks sampled for proof automatically when an aggregate is posted.
    uint256 public constant MAX_SAMPLED_CHUNKS = 8;

    /// @notice Slash reason codes (also in IStakeRegistry).
    uint8 public constant REASON_WRONG_AGGREGATE = 1;
    uint8 public constant REASON_MISSED_DEADLINE = 2;
    uint8 public constant REASON_AGGREGATOR_EQUIVOCATION = 3;
    uint8 public constant REASON_TRAINER_EQUIVOCATION = 4;

    bytes32 private constant COMMITMENT_TYPEHASH =
        keccak256("Commitment(uint256 roundId,bytes32 commitment,uint256 sampleCount)");
    bytes32 private constant AGGREGATE_TYPEHASH =
        keccak256("Aggregate(uint256 roundId,bytes32 aggregateCommitment,bytes32 modelRef)");

    /// @notice Round states. Open: trainers commit. Aggregating: aggregator chosen, waiting for the aggregate.
    /// Challenging: aggregate posted, chunks may be challenged. Finalized: rewards credited.
    /// Failed: the aggregator was slashed; trainers are paid by committed sample counts and the aggregator's
    /// share returns to the task pool; the task's model does not advance.
    uint8 public constant STATE_NONE = 0;
    uint8 public constant STATE_OPEN = 1;
    uint8 public constant STATE_AGGREGATING = 2;
    uint8 public constant STATE_CHALLENGING = 3;
    uint8 public constant STATE_FINALIZED = 4;
    uint8 public constant STATE_FAILED = 5;

    /// @notice Governance parameters, each bounded in `_checkParams`.
    struct Params {
        uint32 maxTrainersPerRound; // <= MAX_TRAINERS_PER_ROUND
        uint64 maxSamplesPerTrainer; // cap on a trainer's self-reported sample count
        uint16 aggregatorRewardBps; // aggregator's share of a round's emission
        uint16 aggregatorSlashBps; // share of an aggregator's slashable stake taken on a fault
        uint16 trainerSlashBps; // share of a trainer's slashable stake taken on equivocation
        uint8 sampledChunks; // chunks challenged automatically from on-chain randomness
        uint64 answerWindow; // seconds the aggregator has to answer a challenge
        uint256 challengeBond; // tokens a challenger locks per challenge
    }

    struct Task {
        address creator;
        uint32 numChunks; // chunks of the model's commitments (docs §4): fixes every Merkle opening's depth
        bytes32 modelRef; // content hash of the current global model
        uint256 rewardPool; // unreserved funding
        uint256 rewardPerRound;
        uint64 commitWindow;
        uint64 aggregateWindow;
        uint64 challengeWindow;
        uint64 roundInterval; // minimum seconds between round openings
        uint64 nextOpenTime;
        uint256 activeRound; // 0 when none
        uint256 roundCount;
    }

    struct Round {
        uint256 taskId;
        uint8 state;
        bool proven;
        uint64 commitDeadline;
        uint64 aggregateDeadline;
        uint64 challengeDeadline;
        uint32 numChunks;
        uint32 pendingChallenges;
        address aggregator;
        uint64 disputeDeadline; // statements of answered challenges are disputable until then (0: none yet)
        IAggregationVerifier verifier;
        uint256 emission;
        bytes32 baseModelRef;
        bytes32 aggregateCommitment;
        bytes32 modelRef;
        address[] trainers;
        bytes32[] commitments;
        uint64[] sampleCounts; // packed 4 per slot: <= maxSamplesPerTrainer (a uint64)
        uint64[] weights; // accepted sample counts, <= sampleCounts
    }

    /// @dev Two slots. The answer writes only the first (status and digest, already non-zero), so it pays
    /// no fresh-slot SSTORE. The digest is keccak truncated to 184 bits: a dispute must present bytes with
    /// this digest, and forging a different statement for an answered one is a second preimage (2^184 work);
    /// a collision helps no one, since the stored digest is of the bytes the verifier returned.
    struct Challenge {
        uint8 status; // 0 none, 1 pending, 2 answered, 3 failed
        uint64 answerDeadline;
        bytes23 statementDigest; // truncated keccak of the answer's disputable statement (zero: none)
        address challenger; // zero for chunks sampled by the contract
        uint96 bond; // held until the round closes (an answer can still be disputed until then)
    }

    /// @notice The staking/reward token.
    IERC20 public immutable token;
    /// @notice The stake registry that this contract slashes through.
    IStakeRegistry public immutable registry;

    Params private _params;
    IAggregationVerifier private _verifier;
    uint256 private _taskCount;
    uint256 private _roundCount;
    uint256 private _totalFunded;
    uint256 private _totalClaimable;
    uint256 private _totalBonds;

    mapping(uint256 taskId => Task) private _tasks;
    mapping(uint256 roundId => Round) private _rounds;
    mapping(uint256 roundId => mapping(address trainer => uint256 indexPlusOne)) private _trainerIndex;
    mapping(uint256 roundId => mapping(uint256 chunk => Challenge)) private _challenges;
    mapping(uint256 roundId => mapping(address signer => bool)) private _equivocationSlashed;
    mapping(address account => uint256) private _claimable;
    address[] private _candidates;
    mapping(address candidate => uint256 indexPlusOne) private _candidateIndex;

    /// @notice A task was created.
    event TaskCreated(
        uint256 indexed taskId,
        address indexed creator,
        bytes32 modelRef,
        uint32 numChunks,
        uint256 rewardPerRound
    );
    /// @notice A task's reward pool grew.
    event TaskFunded(uint256 indexed taskId, address indexed funder, uint256 amount, uint256 rewardPool);
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
    /// @notice The aggregator posted its aggregate.
    event AggregatePosted(
        uint256 indexed roundId,
        address indexed aggregator,
        bytes32 aggregateCommitment,
        bytes32 modelRef,
        uint32 numChunks,
        bool proven
    );
    /// @notice A chunk was challenged (`challenger` zero: sampled by the contract).
    event ChunkChallenged(uint256 indexed roundId, uint256 indexed chunkIndex, address challenger, uint64 answerDeadline);
    /// @notice The aggregator answered a challenge with a valid proof.
    event ChallengeAnswered(uint256 indexed roundId, uint256 indexed chunkIndex, bytes statement);
    /// @notice An answered challenge's statement was shown false (`statementMismatch`); the round failed.
    event StatementDisputed(uint256 indexed roundId, uint256 indexed chunkIndex, address reporter);
    /// @notice An answered challenge's bond was paid out after its round closed.
    event BondSettled(uint256 indexed roundId, uint256 indexed chunkIndex, address to, uint256 amount);
    /// @notice The aggregator failed a challenge (wrong proof or no answer in time).
    event ChallengeFailed(uint256 indexed roundId, uint256 indexed chunkIndex, address reporter);
    /// @notice The aggregator missed its deadline.
    event AggregationMissed(uint256 indexed roundId, address indexed aggregator, address reporter);
    /// @notice Equivocation by `signer` was proven.
    event EquivocationProven(uint256 indexed roundId, address indexed signer, bool aggregator, address reporter);
    /// @notice The round finalized (or failed) and rewards were credited.
    event RoundClosed(uint256 indexed roundId, uint8 state, uint256 paidToTrainers, uint256 paidToAggregator, uint256 returnedToPool);
    /// @notice `account` may now claim `amount` more.
    event RewardCredited(uint256 indexed roundId, address indexed account, uint256 amount);
    /// @notice `account` claimed `amount`.
    event RewardClaimed(address indexed account, uint256 amount);
    /// @notice An operator opted in or out of aggregation duty.
    event AggregatorOptIn(address indexed operator, bool optedIn);
    /// @notice Parameters changed.
    event ParamsChanged(Params params);
    /// @notice The verifier for future rounds changed.
    event VerifierChanged(address indexed verifier);

    error ZeroAddress();
    error ZeroAmount();
    error UnknownTask(uint256 taskId);
    error InvalidSchedule();
    error RoundNotDue(uint64 nextOpenTime);
    error RoundStillActive(uint256 roundId);
    error EmptyRewardPool(uint256 taskId);
    error WrongState(uint256 roundId, uint8 state);
    error DeadlinePassed(uint64 deadline);
    error DeadlineNotReached(uint64 deadline);
    error NotActiveOperator(address account);
    error AlreadyCommitted(address trainer);
    error RoundFull(uint256 maxTrainers);
    error InvalidSampleCount(uint256 sampleCount, uint256 max);
    error NoCandidates();
    error NotAggregator(address caller);
    error InvalidWeights();
    error InvalidChunk(uint256 chunkIndex, uint32 numChunks);
    error InvalidChunkCount();
    error UnprovenRound(uint256 roundId);
    error AlreadyChallenged(uint256 chunkIndex);
    error NoPendingChallenge(uint256 chunkIndex);
    error PendingChallenges(uint32 count);
    error InvalidEvidence();
    error AlreadySlashed(address signer);
    error NothingToClaim();
    error TooManyCandidates();
    error ParamsOutOfBounds();
    error StatementCorrect();
    error NothingToSettle(uint256 chunkIndex);

    /// @param token_ the reward token (same as the staked token)
    /// @param registry_ the stake registry; this contract must be set as its slasher
    /// @param verifier_ the aggregation proof verifier for new rounds
    /// @param owner_ the parameter owner (two-step ownership)
    /// @param params_ initial parameters, checked against hard bounds
    constructor(
        IERC20 token_,
        IStakeRegistry registry_,
        IAggregationVerifier verifier_,
        address owner_,
        Params memory params_
    ) Ownable(owner_) EIP712("vAIn TrainingRounds", "1") {
        if (address(token_) == address(0) || address(registry_) == address(0) || address(verifier_) == address(0)) {
            revert ZeroAddress();
        }
        token = token_;
        registry = registry_;
        _verifier = verifier_;
        _setParams(params_);
        emit VerifierChanged(address(verifier_));
    }

    // ================================================================ tasks

    /// @notice Registers a training task with its initial model and schedule, funded later via `fundTask`.
    /// `numChunks` is the model's chunk count in the commitment scheme (docs §4: ceil(parameters / 64)). It is
    /// fixed here, not by each aggregator, because it decides which chunks can be sampled and how deep every
    /// Merkle opening of the task's commitments is.
    /// @dev Requirements: `numChunks > 0`; every window >= MIN_WINDOW; commit + aggregate + challenge + 2
    /// answer windows (the last answer and its dispute window) <= MAX_ROUND_DURATION; `rewardPerRound > 0`.
    function createTask(
        bytes32 modelRef,
        uint32 numChunks,
        uint256 rewardPerRound,
        uint64 commitWindow,
        uint64 aggregateWindow,
        uint64 challengeWindow,
        uint64 roundInterval
    ) external whenNotPaused returns (uint256 taskId) {
        if (rewardPerRound == 0) revert ZeroAmount();
        if (numChunks == 0) revert InvalidChunkCount();
        if (
            commitWindow < MIN_WINDOW ||
            aggregateWindow < MIN_WINDOW ||
            challengeWindow < MIN_WINDOW ||
            uint256(commitWindow) + aggregateWindow + challengeWindow + 2 * uint256(_params.answerWindow) >
                MAX_ROUND_DURATION
        ) revert InvalidSchedule();
        taskId = ++_taskCount;
        Task storage task = _tasks[taskId];
        task.creator = msg.sender;
        task.modelRef = modelRef;
        task.numChunks = numChunks;
        task.rewardPerRound = rewardPerRound;
        task.commitWindow = commitWindow;
        task.aggregateWindow = aggregateWindow;
        task.challengeWindow = challengeWindow;
        task.roundInterval = roundInterval;
        task.nextOpenTime = uint64(block.timestamp);
        emit TaskCreated(taskId, msg.sender, modelRef, numChunks, rewardPerRound);
    }

    /// @notice Adds `amount` tokens to a task's reward pool (approve first). Anyone may fund any task.
    function fundTask(uint256 taskId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Task storage task = _task(taskId);
        task.rewardPool += amount;
        _totalFunded += amount;
        emit TaskFunded(taskId, msg.sender, amount, task.rewardPool);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    // ================================================================ round lifecycle

    /// @notice Opens the task's next round when it is due. Anyone may call.
    /// @dev Reserves `min(rewardPerRound, rewardPool)` as the round's emission and snapshots the verifier.
    function openRound(uint256 taskId) external whenNotPaused returns (uint256 roundId) {
        Task storage task = _task(taskId);
        if (task.activeRound != 0) revert RoundStillActive(task.activeRound);
        if (block.timestamp < task.nextOpenTime) revert RoundNotDue(task.nextOpenTime);
        if (task.rewardPool == 0) revert EmptyRewardPool(taskId);
        uint256 emission = task.rewardPerRound < task.rewardPool ? task.rewardPerRound : task.rewardPool;
        task.rewardPool -= emission;
        roundId = ++_roundCount;
        task.activeRound = roundId;
        task.roundCount += 1;
        task.nextOpenTime = uint64(block.timestamp + task.roundInterval);
        Round storage round = _rounds[roundId];
        round.taskId = taskId;
        round.state = STATE_OPEN;
        round.emission = emission;
        round.baseModelRef = task.modelRef;
        round.verifier = _verifier;
        round.numChunks = task.numChunks;
        round.commitDeadline = uint64(block.timestamp + task.commitWindow);
        round.aggregateDeadline = round.commitDeadline + task.aggregateWindow;
        round.challengeDeadline = round.aggregateDeadline + task.challengeWindow;
        emit RoundOpened(
            roundId,
            taskId,
            task.modelRef,
            round.commitDeadline,
            round.aggregateDeadline,
            round.challengeDeadline,
            emission
        );
    }

    /// @notice Commits the caller's update for `roundId`: an opaque commitment (docs/protocol.md §4) and its
    /// self-reported sample count, capped by `maxSamplesPerTrainer`.
    /// @dev Requirements: the caller is an active operator; the round is open; before the commit deadline;
    /// one commitment per trainer; at most `maxTrainersPerRound` trainers.
    function commitUpdate(uint256 roundId, bytes32 commitment, uint256 sampleCount) external whenNotPaused {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, STATE_OPEN);
        if (block.timestamp > round.commitDeadline) revert DeadlinePassed(round.commitDeadline);
        if (!registry.isActiveOperator(msg.sender)) revert NotActiveOperator(msg.sender);
        if (_trainerIndex[roundId][msg.sender] != 0) revert AlreadyCommitted(msg.sender);
        if (round.trainers.length >= _params.maxTrainersPerRound) revert RoundFull(_params.maxTrainersPerRound);
        if (sampleCount == 0 || sampleCount > _params.maxSamplesPerTrainer) {
            revert InvalidSampleCount(sampleCount, _params.maxSamplesPerTrainer);
        }
        round.trainers.push(msg.sender);
        round.commitments.push(commitment);
        round.sampleCounts.push(uint64(sampleCount)); // <= maxSamplesPerTrainer (checked above)
        _trainerIndex[roundId][msg.sender] = round.trainers.length;
        emit UpdateCommitted(roundId, msg.sender, commitment, sampleCount);
    }

    /// @notice Chooses the round's aggregator after the commit deadline, stake-weighted among active opted-in
    /// candidates. Anyone may call. A round with no commitments closes with its emission returned.
    /// @dev Randomness: `block.prevrandao` of the selecting block mixed with the round's commitments. On
    /// mainnet a proposer can bias it by withholding a block (cost: its block reward); on a local chain it is
    /// predictable. Choosing after commitments are fixed stops trainers from knowing the aggregator early.
    function selectAggregator(uint256 roundId) external returns (address aggregator) {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, STATE_OPEN);
        if (block.timestamp <= round.commitDeadline) revert DeadlineNotReached(round.commitDeadline);
        if (round.trainers.length == 0) {
            _close(roundId, round, STATE_FAILED);
            return address(0);
        }
        uint256 seed = uint256(keccak256(abi.encode(block.prevrandao, roundId, round.commitments)));
        aggregator = _pickCandidate(seed);
        round.aggregator = aggregator;
        round.state = STATE_AGGREGATING;
        emit AggregatorSelected(roundId, aggregator, seed);
    }

    /// @notice The aggregator posts the aggregate's commitment, the new model's content hash, the accepted
    /// sample weight of each trainer (0 = rejected by robust aggregation: earns nothing) and
    /// whether the rule is provable. Provable rounds get `sampledChunks` chunks challenged at once from
    /// on-chain randomness; unproven rounds (median, Krum, trimmed mean) cannot be challenged by proof.
    function postAggregate(
        uint256 roundId,
        bytes32 aggregateCommitment,
        bytes32 modelRef,
        uint256[] calldata weights,
        bool proven
    ) external {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, STATE_AGGREGATING);
        if (msg.sender != round.aggregator) revert NotAggregator(msg.sender);
        if (block.timestamp > round.aggregateDeadline) revert DeadlinePassed(round.aggregateDeadline);
        uint256 n = round.trainers.length;
        if (weights.length != n) revert InvalidWeights();
        for (uint256 i = 0; i < n; ++i) {
            if (weights[i] > round.sampleCounts[i]) revert InvalidWeights();
            round.weights.push(uint64(weights[i])); // <= a uint64 sample count
        }
        round.aggregateCommitment = aggregateCommitment;
        round.modelRef = modelRef;
        round.proven = proven;
        round.state = STATE_CHALLENGING;
        uint32 numChunks = round.numChunks;
        emit AggregatePosted(roundId, msg.sender, aggregateCommitment, modelRef, numChunks, proven);
        if (proven) {
            uint256 samples = _params.sampledChunks < numChunks ? _params.sampledChunks : numChunks;
            uint256 seed = uint256(keccak256(abi.encode(block.prevrandao, roundId, aggregateCommitment)));
            for (uint256 i = 0; i < samples; ++i) {
                uint256 chunk = uint256(keccak256(abi.encode(seed, i))) % numChunks;
                if (_challenges[roundId][chunk].status == 0) _openChallenge(roundId, round, chunk, address(0), 0);
            }
        }
    }

    /// @notice Challenges chunk `chunkIndex` of a proven round's aggregate, locking `challengeBond` tokens
    /// (approve first). A correct answer forfeits the bond to the aggregator; a failed one returns it plus
    /// the reporter's share of the slash.
    function challenge(uint256 roundId, uint256 chunkIndex) external nonReentrant whenNotPaused {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, STATE_CHALLENGING);
        if (!round.proven) revert UnprovenRound(roundId);
        if (block.timestamp > round.challengeDeadline) revert DeadlinePassed(round.challengeDeadline);
        if (chunkIndex >= round.numChunks) revert InvalidChunk(chunkIndex, round.numChunks);
        if (_challenges[roundId][chunkIndex].status != 0) revert AlreadyChallenged(chunkIndex);
        if (!registry.isActiveOperator(msg.sender)) revert NotActiveOperator(msg.sender);
        uint256 bond = _params.challengeBond;
        _totalBonds += bond;
        _openChallenge(roundId, round, chunkIndex, msg.sender, bond);
        if (bond != 0) token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @notice The aggregator answers a chunk challenge with a proof checked by the round's verifier. A valid
    /// proof settles the challenge, except for the statement the verifier leaves optimistic (for Groth16: the
    /// trainers' chunk hashes and the Poseidon public input): its digest is stored, the statement is emitted,
    /// and anyone holding evidence may `disputeStatement` it until the round's dispute deadline (answer time +
    /// `answerWindow`), which `finalizeRound` waits for.
    /// An invalid proof slashes the aggregator and fails the round. The challenger's bond stays held until
    /// the round closes (`settleBond`).
    function answerChallenge(uint256 roundId, uint256 chunkIndex, bytes calldata proof) external nonReentrant {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, STATE_CHALLENGING);
        if (msg.sender != round.aggregator) revert NotAggregator(msg.sender);
        Challenge storage ch = _challenges[roundId][chunkIndex];
        if (ch.status != 1) revert NoPendingChallenge(chunkIndex);
        if (block.timestamp > ch.answerDeadline) revert DeadlinePassed(ch.answerDeadline);
        (bool valid, bytes memory statement) = round.verifier.verifyChunk(
            roundId,
            chunkIndex,
            round.numChunks,
            round.weights,
            round.aggregateCommitment,
            proof
        );
        round.pendingChallenges -= 1;
        if (!valid) {
            _failChallenge(roundId, round, chunkIndex, ch, ch.challenger == address(0) ? msg.sender : ch.challenger);
            return;
        }
        ch.status = 2;
        if (statement.length != 0) {
            ch.statementDigest = bytes23(keccak256(statement));
            uint64 disputeDeadline = uint64(block.timestamp + _params.answerWindow);
            if (disputeDeadline > round.disputeDeadline) round.disputeDeadline = disputeDeadline;
        }
        emit ChallengeAnswered(roundId, chunkIndex, statement);
    }

    /// @notice Shows that an answered challenge's statement is false, which makes the accepted proof
    /// worthless: slashes the aggregator and fails the round; the caller is the reporter and the challenger's
    /// bond is returned. For Groth16 the `evidence` is either empty (the public input is not the Poseidon hash
    /// of the statement's chunk hashes, weights, round and chunk) or a Merkle opening of a weighted trainer's
    /// committed chunk hash that differs from the one the statement claims (docs §5). `statement` is the
    /// `ChallengeAnswered` event's bytes. Anyone may call until the round's dispute deadline. Reverts
    /// `StatementCorrect` if the evidence does not show the statement false.
    function disputeStatement(
        uint256 roundId,
        uint256 chunkIndex,
        bytes calldata statement,
        bytes calldata evidence
    ) external nonReentrant {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, STATE_CHALLENGING);
        Challenge storage ch = _challenges[roundId][chunkIndex];
        if (ch.status != 2 || ch.statementDigest == bytes23(0)) revert NoPendingChallenge(chunkIndex);
        if (block.timestamp > round.disputeDeadline) revert DeadlinePassed(round.disputeDeadline);
        if (bytes23(keccak256(statement)) != ch.statementDigest) revert InvalidEvidence();
        if (!round.verifier.statementMismatch(statement, round.commitments, round.numChunks, evidence)) {
            revert StatementCorrect();
        }
        emit StatementDisputed(roundId, chunkIndex, msg.sender);
        _failChallenge(roundId, round, chunkIndex, ch, msg.sender);
    }

    /// @notice Pays out an answered challenge's bond once its round closed: to the aggregator if the round
    /// finalized (the answer stood), back to the challenger if the round failed (the aggregator was slashed
    /// through this or another chunk). Anyone may call.
    function settleBond(uint256 roundId, uint256 chunkIndex) external nonReentrant {
        Round storage round = _rounds[roundId];
        Challenge storage ch = _challenges[roundId][chunkIndex];
        uint256 bond = ch.bond;
        if (ch.status != 2 || bond == 0) revert NothingToSettle(chunkIndex);
        address to;
        if (round.state == STATE_FINALIZED) to = round.aggregator;
        else if (round.state == STATE_FAILED) to = ch.challenger;
        else revert WrongState(roundId, round.state);
        ch.bond = 0;
        emit BondSettled(roundId, chunkIndex, to, bond);
        _credit(roundId, to, bond, true);
    }

    /// @notice After a challenge's answer deadline passed without an answer, slashes the aggregator and fails
    /// the round. Anyone may call; the challenger (or, for sampled chunks, the caller) is the reporter.
    function resolveUnansweredChallenge(uint256 roundId, uint256 chunkIndex) external nonReentrant {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, STATE_CHALLENGING);
        Challenge storage ch = _challenges[roundId][chunkIndex];
        if (ch.status != 1) revert NoPendingChallenge(chunkIndex);
        if (block.timestamp <= ch.answerDeadline) revert DeadlineNotReached(ch.answerDeadline);
        round.pendingChallenges -= 1;
        _failChallenge(roundId, round, chunkIndex, ch, ch.challenger == address(0) ? msg.sender : ch.challenger);
    }

    /// @notice Returns the bond of a challenge left pending when its round failed through another chunk's
    /// challenge (the round can no longer be answered). Anyone may call; the bond goes to the challenger.
    function reclaimBond(uint256 roundId, uint256 chunkIndex) external nonReentrant {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, STATE_FAILED);
        Challenge storage ch = _challenges[roundId][chunkIndex];
        if (ch.status != 1) revert NoPendingChallenge(chunkIndex);
        ch.status = 3;
        round.pendingChallenges -= 1;
        if (ch.bond != 0) _credit(roundId, ch.challenger, ch.bond, true);
    }

    /// @notice After the aggregation deadline passed without an aggregate, slashes the aggregator and fails
    /// the round. Anyone may call and is the reporter.
    function reportMissedAggregation(uint256 roundId) external nonReentrant {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, STATE_AGGREGATING);
        if (block.timestamp <= round.aggregateDeadline) revert DeadlineNotReached(round.aggregateDeadline);
        address aggregator = round.aggregator;
        emit AggregationMissed(roundId, aggregator, msg.sender);
        _close(roundId, round, STATE_FAILED);
        _slashShare(aggregator, _params.aggregatorSlashBps, REASON_MISSED_DEADLINE, bytes32(roundId), msg.sender);
    }

    /// @notice Finalizes a round after its challenge window and its dispute deadline with every challenge
    /// answered: credits rewards and advances the task's model. Anyone may call.
    function finalizeRound(uint256 roundId) external nonReentrant {
        Round storage round = _rounds[roundId];
        _requireState(roundId, round, STATE_CHALLENGING);
        if (block.timestamp <= round.challengeDeadline) revert DeadlineNotReached(round.challengeDeadline);
        if (block.timestamp <= round.disputeDeadline) revert DeadlineNotReached(round.disputeDeadline);
        if (round.pendingChallenges != 0) revert PendingChallenges(round.pendingChallenges);
        _tasks[round.taskId].modelRef = round.modelRef;
        _close(roundId, round, STATE_FINALIZED);
    }

    /// @notice Slashes an operator that signed (EIP-712) two different results for the same round: two
    /// commitments as a trainer, or two aggregates as an aggregator. Anyone may submit; the submitter is the
    /// reporter. Each signer is slashed at most once per round.
    /// @param isAggregate true for `Aggregate` messages, false for `Commitment` messages
    /// @param a first signed value pair (commitment, sampleCount) or (aggregateCommitment, modelRef)
    /// @param b second signed value pair, different from `a`
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

    // ================================================================ rewards

    /// @notice Transfers everything credited to the caller (rewards, bonds). Never blocked by the pause.
    function claim() external nonReentrant returns (uint256 amount) {
        amount = _claimable[msg.sender];
        if (amount == 0) revert NothingToClaim();
        _claimable[msg.sender] = 0;
        _totalClaimable -= amount;
        emit RewardClaimed(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ================================================================ aggregator duty

    /// @notice Opts the caller in or out of aggregator selection. Opting in needs active stake.
    function setAggregatorOptIn(bool optIn) external {
        uint256 index = _candidateIndex[msg.sender];
        if (optIn) {
            if (index != 0) return;
            if (!registry.isActiveOperator(msg.sender)) revert NotActiveOperator(msg.sender);
            if (_candidates.length >= MAX_AGGREGATOR_CANDIDATES) revert TooManyCandidates();
            _candidates.push(msg.sender);
            _candidateIndex[msg.sender] = _candidates.length;
        } else {
            if (index == 0) return;
            address last = _candidates[_candidates.length - 1];
            _candidates[index - 1] = last;
            _candidateIndex[last] = index;
            _candidates.pop();
            delete _candidateIndex[msg.sender];
        }
        emit AggregatorOptIn(msg.sender, optIn);
    }

    // ================================================================ owner

    /// @notice Replaces the parameters within their hard bounds. Only the owner. Rounds already open keep
    /// their deadlines; bonds and slash shares apply from the next action.
    function setParams(Params calldata params_) external onlyOwner {
        _setParams(params_);
    }

    /// @notice Sets the verifier used by rounds opened from now on; open rounds keep theirs. Only the owner.
    function setVerifier(IAggregationVerifier verifier_) external onlyOwner {
        if (address(verifier_) == address(0)) revert ZeroAddress();
        _verifier = verifier_;
        emit VerifierChanged(address(verifier_));
    }

    /// @notice Pauses task creation, round opening, commits and challenges. Claims, answers, finalization
    /// and slashing stay open so nobody's funds or defence are blocked. Only the owner.
    function pause() external onlyOwner {
        _pause();
    }

    /// @notice Lifts the pause. Only the owner.
    function unpause() external onlyOwner {
        _unpause();
    }

    // ================================================================ views

    /// @notice Current parameters.
    function params() external view returns (Params memory) {
        return _params;
    }

    /// @notice The verifier for new rounds.
    function verifier() external view returns (IAggregationVerifier) {
        return _verifier;
    }

    /// @notice A task.
    function getTask(uint256 taskId) external view returns (Task memory) {
        return _tasks[taskId];
    }

    /// @notice A round, with its trainers, commitments, sample counts and accepted weights.
    function getRound(uint256 roundId) external view returns (Round memory) {
        return _rounds[roundId];
    }

    /// @notice A chunk challenge.
    function getChallenge(uint256 roundId, uint256 chunkIndex) external view returns (Challenge memory) {
        return _challenges[roundId][chunkIndex];
    }

    /// @notice What `account` can claim now.
    function claimable(address account) external view returns (uint256) {
        return _claimable[account];
    }

    /// @notice Opted-in aggregator candidates.
    function aggregatorCandidates() external view returns (address[] memory) {
        return _candidates;
    }

    /// @notice Number of tasks and rounds created so far.
    function counts() external view returns (uint256 tasks, uint256 rounds) {
        return (_taskCount, _roundCount);
    }

    /// @notice Accounting totals: all funding ever received, rewards credited but unclaimed, bonds locked.
    function totals() external view returns (uint256 funded, uint256 unclaimed, uint256 bonds) {
        return (_totalFunded, _totalClaimable, _totalBonds);
    }

    /// @notice The EIP-712 digest a trainer signs for a commitment (for off-chain signing and evidence).
    function commitmentDigest(uint256 roundId, bytes32 commitment, uint256 sampleCount) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(COMMITMENT_TYPEHASH, roundId, commitment, bytes32(sampleCount))));
    }

    /// @notice The EIP-712 digest an aggregator signs for an aggregate.
    function aggregateDigest(uint256 roundId, bytes32 aggregateCommitment, bytes32 modelRef) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(AGGREGATE_TYPEHASH, roundId, aggregateCommitment, modelRef)));
    }

    // ================================================================ internal

    function _task(uint256 taskId) private view returns (Task storage task) {
        task = _tasks[taskId];
        if (task.creator == address(0)) revert UnknownTask(taskId);
    }

    function _requireState(uint256 roundId, Round storage round, uint8 state) private view {
        if (round.state != state) revert WrongState(roundId, round.state);
    }

    function _pickCandidate(uint256 seed) private view returns (address) {
        uint256 n = _candidates.length;
        uint256[] memory stakes = new uint256[](n);
        uint256 total;
        for (uint256 i = 0; i < n; ++i) {
            address candidate = _candidates[i];
            if (registry.isActiveOperator(candidate)) {
                stakes[i] = registry.activeStake(candidate);
                total += stakes[i];
            }
        }
        if (total == 0) revert NoCandidates();
        uint256 target = seed % total;
        for (uint256 i = 0; i < n; ++i) {
            if (target < stakes[i]) return _candidates[i];
            target -= stakes[i];
        }
        revert NoCandidates(); // unreachable: target < total
    }

    function _openChallenge(uint256 roundId, Round storage round, uint256 chunk, address challenger, uint256 bond)
        private
    {
        uint64 deadline = uint64(block.timestamp + _params.answerWindow);
        Challenge storage ch = _challenges[roundId][chunk];
        ch.challenger = challenger;
        ch.answerDeadline = deadline;
        ch.status = 1;
        if (bond != 0) ch.bond = uint96(bond); // challengeBond <= type(uint96).max (_setParams)
        round.pendingChallenges += 1;
        emit ChunkChallenged(roundId, chunk, challenger, deadline);
    }

    /// @dev Fails a challenge that is no longer counted in `pendingChallenges` (callers decrement it).
    function _failChallenge(
        uint256 roundId,
        Round storage round,
        uint256 chunkIndex,
        Challenge storage ch,
        address reporter
    ) private {
        ch.status = 3;
        if (reporter == round.aggregator) reporter = address(0); // no reward for reporting yourself
        emit ChallengeFailed(roundId, chunkIndex, reporter);
        uint256 bond = ch.bond;
        if (bond != 0) {
            ch.bond = 0;
            _credit(roundId, ch.challenger, bond, true);
        }
        address aggregator = round.aggregator;
        _close(roundId, round, STATE_FAILED);
        bytes32 evidence = keccak256(abi.encode(roundId, chunkIndex, round.aggregateCommitment));
        _slashShare(aggregator, _params.aggregatorSlashBps, REASON_WRONG_AGGREGATE, evidence, reporter);
    }

    /// @dev Closes a round and credits its emission exactly: Finalized pays trainers by accepted weights and
    /// the aggregator its share; Failed pays trainers by committed sample counts and returns the aggregator's
    /// share. Floor-division dust and unpaid shares go back to the task's pool, so nothing is lost.
    function _close(uint256 roundId, Round storage round, uint8 state) private {
        round.state = state;
        Task storage task = _tasks[round.taskId];
        task.activeRound = 0;
        uint256 emission = round.emission;
        uint256 aggregatorShare = round.trainers.length == 0 ? 0 : (emission * _params.aggregatorRewardBps) / BPS;
        uint256 trainerPool = round.trainers.length == 0 ? 0 : emission - aggregatorShare;
        uint64[] storage weights = state == STATE_FINALIZED ? round.weights : round.sampleCounts;
        uint256 totalWeight;
        uint256 n = round.trainers.length;
        for (uint256 i = 0; i < n; ++i) totalWeight += weights[i];
        uint256 paidTrainers;
        if (totalWeight != 0) {
            for (uint256 i = 0; i < n; ++i) {
                uint256 share = (trainerPool * weights[i]) / totalWeight;
                if (share != 0) {
                    paidTrainers += share;
                    _credit(roundId, round.trainers[i], share, false);
                }
            }
        }
        uint256 paidAggregator;
        if (state == STATE_FINALIZED && aggregatorShare != 0) {
            paidAggregator = aggregatorShare;
            _credit(roundId, round.aggregator, aggregatorShare, false);
        }
        uint256 returned = emission - paidTrainers - paidAggregator;
        task.rewardPool += returned;
        emit RoundClosed(roundId, state, paidTrainers, paidAggregator, returned);
    }

    function _credit(uint256 roundId, address account, uint256 amount, bool fromBond) private {
        if (fromBond) _totalBonds -= amount;
        _claimable[account] += amount;
        _totalClaimable += amount;
        emit RewardCredited(roundId, account, amount);
    }

    function _slashShare(address operator, uint256 bps, uint8 reason, bytes32 evidence, address reporter) private {
        uint256 amount = (registry.slashableStake(operator) * bps) / BPS;
        registry.slash(operator, amount, reason, evidence, reporter);
    }

    function _setParams(Params memory p) private {
        if (
            p.maxTrainersPerRound == 0 ||
            p.maxTrainersPerRound > MAX_TRAINERS_PER_ROUND ||
            p.maxSamplesPerTrainer == 0 ||
            p.aggregatorRewardBps > BPS / 2 ||
            p.aggregatorSlashBps == 0 ||
            p.aggregatorSlashBps > BPS ||
            p.trainerSlashBps == 0 ||
            p.trainerSlashBps > BPS ||
            p.sampledChunks > MAX_SAMPLED_CHUNKS ||
            p.answerWindow < MIN_WINDOW ||
            p.answerWindow > MAX_ROUND_DURATION / 4 ||
            p.challengeBond > type(uint96).max
        ) revert ParamsOutOfBounds();
        _params = p;
        emit ParamsChanged(p);
    }
}
