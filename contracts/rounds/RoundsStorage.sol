// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IStakeRegistry} from "../interfaces/IStakeRegistry.sol";
import {ITrainingRounds} from "../interfaces/ITrainingRounds.sol";

/// @title RoundsStorage
/// @notice The round contract's shared state, first in its storage layout: TrainingRounds (through
/// RoundsBase) and RoundsExtension (run by delegatecall on TrainingRounds' storage) both start with exactly
/// this, so the extension reads and writes the same tasks, rounds, challenges and draws. Nothing with storage
/// may come before it in either contract; the extension keeps its own state in a namespaced slot (ERC-7201).
abstract contract RoundsStorage is Ownable2Step, Pausable, ReentrancyGuardTransient {
    /// @notice Blocks between fixing a draw's inputs and the block whose `prevrandao` seeds it. Two, not one:
    /// `prevrandao` of block N+1 already includes block N's RANDAO reveal, which N's proposer knows while
    /// building N; with two, the inputs fixed in block N meet a reveal first made in block N+1. What remains is
    /// RANDAO's own bias: N+1's proposer may withhold its block (losing its reward) for a second try.
    uint256 public constant SEED_BLOCK_DELAY = 2;
    /// @dev Transient flag: set by TrainingRounds.commitUpdate around its delegatecall to takeSlot.
    bytes32 internal constant SLOT_GUARD = keccak256("vain.transient.takeSlot");
    /// @dev Transient: the reporter whose committed report `revealReport` is running (zero otherwise).
    bytes32 internal constant REVEALED_REPORTER = keccak256("vain.transient.revealedReporter");
    /// @notice Most challenges (sampled and bonded) a round takes. Each gets a full answer window of its own
    /// (deadlines are spaced), so this bounds the round's length; a round that reaches it is contested and
    /// fails without a slash, so filling it cannot hide a wrong chunk (docs/protocol.md §5).
    uint256 public constant MAX_CHALLENGES_PER_ROUND = 16;
    /// @notice A bonded challenge locks at least the round's emission / this (and at least `challengeBond`):
    /// the bonded challenges that fill a round's slots (16 less the sampled ones) then cost up to twice what
    /// the round emits, and a round filled with answered challenges still pays its trainers and aggregator
    /// (RoundRewards), so griefing one costs the griefer more than it costs anyone else.
    uint256 public constant CHALLENGE_BOND_EMISSION_DIVISOR = 8;
    /// @notice Most trainers a proven round proves flat, one proof per chunk: the flat verifier's fan-in
    /// (circuit K = 8). A larger proven round is proven by chained proofs, one per (chunk, link) cell
    /// (ILinkVerifier), and admits trainers above this only if its verifier has a link verifier.
    uint256 public constant MAX_PROVEN_TRAINERS = 8;

    /// @notice Hard cap on a round's total duration: the commit window, the selection window and the selected
    /// aggregator's full window (an aggregate window each), the challenge window, then
    /// MAX_CHALLENGES_PER_ROUND spaced answer windows and the last answer's dispute window. Kept below
    /// StakeRegistry.MIN_UNBONDING_DELAY (1 day) so stake cannot leave before its round is judged.
    uint256 public constant MAX_ROUND_DURATION = 12 hours;
    /// @notice Shortest allowed window. Windows are the task's own choice, fixed at creation, and only slow
    /// or speed its rounds; the answer window is the one an aggregator must meet, and an operator decides
    /// whether to serve a task knowing it (the node refuses to aggregate a task whose answer window is shorter
    /// than its proving time). 5 s lets a local chain run a round in well under a minute.
    uint256 public constant MIN_WINDOW = 5 seconds;
    /// @notice Longest round interval: keeps `block.timestamp + roundInterval` far inside uint64.
    uint256 public constant MAX_ROUND_INTERVAL = 365 days;
    /// @notice Most levels of a task hierarchy (group tasks of group tasks, `linkTask`): three levels of 16 hold
    /// 4,096 trainers in one global round. Bounds the walks up a task's ancestors (`linkTask`, `openRound`).
    uint256 public constant MAX_TASK_LEVELS = 3;
    /// @notice Length of a group epoch: an operator's group in every hierarchy is drawn anew each epoch from the
    /// epoch's seed (`GroupSeedFixed`), so sybils cannot gather in one group by grinding addresses or by churn
    /// (unstaking and restaking under new addresses only re-enters the next draw). One day: the minimum unbonding
    /// delay, and longer than any round (MAX_ROUND_DURATION), so a node regroups at most once a day.
    uint256 public constant GROUP_EPOCH = 1 days;

    /// @notice The staking/reward token.
    IERC20 public immutable token;
    /// @notice The stake registry that this contract slashes through.
    IStakeRegistry public immutable registry;

    /// @dev Parameter versions: round `r` reads `_paramsAt[r.paramsVersion]` (RoundParams).
    mapping(uint32 version => ITrainingRounds.Params) internal _paramsAt;
    uint256 internal _taskCount;
    uint256 internal _roundCount;
    uint256 internal _totalFunded;
    uint256 internal _totalBonds;

    mapping(uint256 taskId => ITrainingRounds.Task) internal _tasks;
    mapping(uint256 roundId => ITrainingRounds.Round) internal _rounds;
    mapping(uint256 roundId => mapping(address trainer => uint256 indexPlusOne)) internal _trainerIndex;
    mapping(uint256 roundId => mapping(uint256 chunk => ITrainingRounds.Challenge)) internal _challenges;
    /// @dev Where each round's randomness comes from (RoundsExtension locks and selects, TrainingRounds draws).
    mapping(uint256 roundId => ITrainingRounds.RoundDraws) internal _draws;
    /// @dev Hierarchical rounds (docs §7): each child task's parent (`linkTask`, 0: none), and the group rounds
    /// already committed as a partial (`commitPartial`, once each).
    mapping(uint256 childTaskId => uint256 parentTaskId) internal _parentTask;
    mapping(uint256 groupRoundId => bool) internal _partialTaken;
    /// @dev A parent task's linked group tasks, and per parent round the groups with a partial in it (each
    /// group counted once): a round holding one from every group closes its commit phase at once.
    mapping(uint256 parentTaskId => uint256 groups) internal _groupCount;
    mapping(uint256 parentRoundId => uint256 groups) internal _groupsIn;
    mapping(uint256 parentRoundId => mapping(uint256 childTaskId => bool)) internal _groupIn;
    /// @dev Levels of linked tasks below each task (0: no groups), kept by `linkTask` to bound the hierarchy.
    mapping(uint256 taskId => uint256 levels) internal _levelsBelow;
    /// @dev A child task's place among its parent's groups (its link order, 0-based; `linkTask`).
    mapping(uint256 childTaskId => uint256 index) internal _groupIndex;
    /// @dev Each group epoch's seed (0: not fixed yet) and its seed block (0: none yet; `drawGroupSeed`).
    mapping(uint256 epoch => bytes32 seed) internal _groupSeed;
    mapping(uint256 epoch => uint256 seedBlock) internal _groupSeedBlock;

    /// @param token_ the reward token (same as the staked token)
    /// @param registry_ the stake registry; the composing contract must be set as its slasher
    constructor(IERC20 token_, IStakeRegistry registry_) {
        if (address(token_) == address(0) || address(registry_) == address(0)) revert ITrainingRounds.ZeroAddress();
        token = token_;
        registry = registry_;
    }

    /// @dev Opens a pending challenge on `chunk`; `bond` is already counted as held. Its answer deadline is
    /// one answer window after the later of now and the round's last answer deadline: the aggregator proves
    /// one chunk at a time and always has a full window for each, however many arrive at once.
    function _openChallenge(
        uint256 roundId,
        ITrainingRounds.Round storage round,
        uint256 chunk,
        address challenger,
        uint256 bond
    ) internal {
        uint64 start = round.lastAnswerDeadline > block.timestamp ? round.lastAnswerDeadline : uint64(block.timestamp);
        uint64 deadline = start + round.answerWindow;
        round.lastAnswerDeadline = deadline;
        ITrainingRounds.Challenge storage ch = _challenges[roundId][chunk];
        ch.challenger = challenger;
        ch.answerDeadline = deadline;
        ch.status = ITrainingRounds.ChallengeStatus.Pending;
        if (bond != 0) ch.bond = uint96(bond); // <= type(uint96).max (_challengeBondOf)
        round.pendingChallenges += 1;
        round.challengeCount += 1;
        emit ITrainingRounds.ChunkChallenged(roundId, chunk, challenger, deadline);
        if (round.challengeCount == MAX_CHALLENGES_PER_ROUND) emit ITrainingRounds.RoundContested(roundId);
    }

    /// @dev The bond a challenge of `round` locks: max(`challengeBond`, emission / 8), within uint96.
    function _challengeBondOf(ITrainingRounds.Round storage round) internal view returns (uint256 bond) {
        bond = _paramsAt[round.paramsVersion].challengeBond;
        uint256 floor = round.emission / CHALLENGE_BOND_EMISSION_DIVISOR;
        if (floor > bond) bond = floor < type(uint96).max ? floor : type(uint96).max;
    }

    /// @dev The reporter whose committed report is being revealed in this call (zero outside `revealReport`).
    function _revealedReporter() internal view returns (address reporter) {
        bytes32 slot = REVEALED_REPORTER;
        assembly {
            reporter := tload(slot)
        }
    }

    /// @dev What a challenge of `round` names: its chunks, or for chained proofs its (chunk, link) cells.
    function _cellCount(ITrainingRounds.Round storage round) internal view returns (uint256) {
        uint256 links = round.numLinks;
        return links == 0 ? round.numChunks : round.numChunks * links;
    }

    /// @dev Names the sample seed block of a just-posted proven aggregate (or after an expired one).
    function _scheduleSamples(uint256 roundId) internal {
        uint64 seedBlock = uint64(block.number + SEED_BLOCK_DELAY);
        _draws[roundId].sampleSeedBlock = seedBlock;
        emit ITrainingRounds.SamplesScheduled(roundId, seedBlock);
    }
}
