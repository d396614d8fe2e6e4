// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";

/// @title StakeRegistry
/// @notice Operators bond VAIN tokens, bind their libp2p peer ID, and unbond through a delay during which
/// their stake stays slashable. Only the authorised slasher (the rounds contract) can slash; a share of the
/// slashed amount rewards the reporter and the rest is burned.
/// @dev Peer IDs are the multihash bytes of a libp2p peer ID. The chain cannot check that the operator holds
/// the peer's Ed25519 key; the mesh's admission handshake proves that off chain (see docs/protocol.md §2).
contract StakeRegistry is IStakeRegistry, Ownable2Step, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using Checkpoints for Checkpoints.Trace208;

    /// @notice Basis-point denominator.
    uint256 public constant BPS = 10_000;
    /// @notice Lower bound on the unbonding delay. `TrainingRounds` caps a round (commit, aggregate,
    /// challenge and answer windows) at 12 hours, so a day guarantees every round can be judged before the
    /// stake behind it leaves.
    uint256 public constant MIN_UNBONDING_DELAY = 1 days;
    /// @notice Upper bound on the unbonding delay, so the owner cannot lock stake indefinitely.
    uint256 public constant MAX_UNBONDING_DELAY = 60 days;
    /// @notice Upper bound on the reporter's share of a slash.
    uint256 public constant MAX_REPORTER_REWARD_BPS = 5_000;
    /// @notice Longest accepted peer ID (an identity multihash of an Ed25519 key is 38 bytes).
    uint256 public constant MAX_PEER_ID_LENGTH = 64;

    struct Operator {
        uint256 active;
        uint256 unbonding;
        uint64 unbondingReleaseTime;
        bytes peerId;
    }

    /// @notice The staked token.
    IERC20 public immutable token;

    uint256 private _minStake;
    uint256 private _unbondingDelay;
    uint256 private _reporterRewardBps;
    address private _slasher;
    uint256 private _totalActive;
    uint256 private _totalUnbonding;

    mapping(address operator => Operator) private _operators;
    mapping(bytes32 peerIdHash => address operator) private _peerOwner;
    /// @dev Active stake per operator after each block that changed it, keyed by block number, so the rounds
    /// contract can read stakes fixed before its randomness is known (selection cannot be ground by top-ups).
    mapping(address operator => Checkpoints.Trace208) private _activeHistory;
    /// @dev Total active stake after each block that changed it, keyed by block number.
    Checkpoints.Trace208 private _totalActiveHistory;

    /// @notice `operator` added `amount` to its active stake.
    event Staked(address indexed operator, uint256 amount, uint256 activeStake);
    /// @notice `operator` moved `amount` from active to unbonding stake, withdrawable at `releaseTime`.
    event UnstakeRequested(address indexed operator, uint256 amount, uint256 unbondingStake, uint64 releaseTime);
    /// @notice `operator` withdrew `amount` of unbonded stake.
    event Withdrawn(address indexed operator, uint256 amount);
    /// @notice `operator` lost `amount`; `reporterReward` of it went to `reporter`, the rest was burned.
    event Slashed(
        address indexed operator,
        uint256 amount,
        uint8 reason,
        bytes32 evidence,
        address reporter,
        uint256 reporterReward
    );
    /// @notice `operator` bound `peerId`.
    event PeerIdBound(address indexed operator, bytes peerId);
    /// @notice `operator` released `peerId`.
    event PeerIdUnbound(address indexed operator, bytes peerId);
    /// @notice A parameter changed.
    event ParameterChanged(bytes32 indexed name, uint256 value);
    /// @notice The slasher changed.
    event SlasherChanged(address indexed slasher);

    /// @notice An amount of zero was given.
    error ZeroAmount();
    /// @notice The operator asked to unstake more than its active stake.
    error InsufficientActiveStake(uint256 requested, uint256 available);
    /// @notice Nothing is unbonding, or the unbonding delay has not passed.
    error NothingToWithdraw(uint64 releaseTime);
    /// @notice The peer ID is empty or longer than `MAX_PEER_ID_LENGTH`.
    error InvalidPeerId();
    /// @notice The peer ID is bound to another operator.
    error PeerIdTaken(address owner);
    /// @notice The operator has no peer ID bound.
    error NoPeerIdBound();
    /// @notice Only the slasher may call this.
    error NotSlasher(address caller);
    /// @notice A parameter is outside its hard bounds.
    error ParameterOutOfBounds(bytes32 name, uint256 value);
    /// @notice The address is zero.
    error ZeroAddress();

    /// @param token_ the staked token (must support EIP-2612 for `stakeWithPermit`)
    /// @param owner_ the parameter owner (two-step ownership)
    /// @param minStake_ minimum active stake to be an active node
    /// @param unbondingDelay_ seconds between `requestUnstake` and `withdraw`
    /// @param reporterRewardBps_ share of a slash paid to its reporter, in basis points
    constructor(
        IERC20 token_,
        address owner_,
        uint256 minStake_,
        uint256 unbondingDelay_,
        uint256 reporterRewardBps_
    ) Ownable(owner_) {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
        _setMinStake(minStake_);
        _setUnbondingDelay(unbondingDelay_);
        _setReporterRewardBps(reporterRewardBps_);
    }

    // ---------------------------------------------------------------- staking

    /// @notice Adds `amount` tokens to the caller's active stake (approve first, or use `stakeWithPermit`).
    /// @dev Requirements: not paused; `amount > 0`.
    function stake(uint256 amount) external nonReentrant whenNotPaused {
        _stake(msg.sender, amount);
    }

    /// @notice Approves with an EIP-2612 permit and stakes in one transaction.
    /// @dev A permit front-run by someone else leaves the allowance in place, so a failed `permit` is
    /// tolerated when the allowance already covers `amount` (OpenZeppelin's recommended pattern).
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        whenNotPaused
    {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _stake(msg.sender, amount);
    }

    /// @notice Moves `amount` from active to unbonding stake. The whole unbonding balance becomes
    /// withdrawable `unbondingDelay` after the latest request. Allowed while paused.
    function requestUnstake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Operator storage op = _operators[msg.sender];
        if (amount > op.active) revert InsufficientActiveStake(amount, op.active);
        op.active -= amount;
        op.unbonding += amount;
        _totalActive -= amount;
        _totalUnbonding += amount;
        _checkpointActive(msg.sender, op.active);
        uint64 releaseTime = uint64(block.timestamp + _unbondingDelay);
        op.unbondingReleaseTime = releaseTime;
        emit UnstakeRequested(msg.sender, amount, op.unbonding, releaseTime);
    }

    /// @notice Withdraws all unbonding stake once its delay has passed. Never blocked by the pause.
    function withdraw() external nonReentrant {
        Operator storage op = _operators[msg.sender];
        uint256 amount = op.unbonding;
        if (amount == 0 || block.timestamp < op.unbondingReleaseTime) {
            revert NothingToWithdraw(op.unbondingReleaseTime);
        }
        op.unbonding = 0;
        op.unbondingReleaseTime = 0;
        _totalUnbonding -= amount;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- peer identity

    /// @notice Binds the caller to `peerId`, replacing its previous peer ID (which becomes free).
    /// @dev One peer ID per operator and one operator per peer ID. Rebinding is allowed at any time so an
    /// operator can rotate a compromised node key; a peer ID bound to someone else cannot be taken.
    function bindPeerId(bytes calldata peerId) external whenNotPaused {
        if (peerId.length == 0 || peerId.length > MAX_PEER_ID_LENGTH) revert InvalidPeerId();
        bytes32 key = keccak256(peerId);
        address owner_ = _peerOwner[key];
        if (owner_ != address(0) && owner_ != msg.sender) revert PeerIdTaken(owner_);
        Operator storage op = _operators[msg.sender];
        if (op.peerId.length != 0) {
            bytes memory old = op.peerId;
            delete _peerOwner[keccak256(old)];
            emit PeerIdUnbound(msg.sender, old);
        }
        _peerOwner[key] = msg.sender;
        op.peerId = peerId;
        emit PeerIdBound(msg.sender, peerId);
    }

    /// @notice Releases the caller's peer ID.
    function unbindPeerId() external {
        Operator storage op = _operators[msg.sender];
        bytes memory old = op.peerId;
        if (old.length == 0) revert NoPeerIdBound();
        delete _peerOwner[keccak256(old)];
        delete op.peerId;
        emit PeerIdUnbound(msg.sender, old);
    }

    // ---------------------------------------------------------------- slashing

    /// @inheritdoc IStakeRegistry
    /// @dev Takes at most what the operator has, active stake first, then unbonding stake. The reporter's
    /// share is rounded down, so rounding never favours the reporter; the rest is burned.
    function slash(address operator, uint256 amount, uint8 reason, bytes32 evidence, address reporter)
        external
        nonReentrant
        returns (uint256 slashed)
    {
        if (msg.sender != _slasher) revert NotSlasher(msg.sender);
        Operator storage op = _operators[operator];
        uint256 fromActive = amount < op.active ? amount : op.active;
        uint256 rest = amount - fromActive;
        uint256 fromUnbonding = rest < op.unbonding ? rest : op.unbonding;
        slashed = fromActive + fromUnbonding;
        if (slashed == 0) return 0;
        op.active -= fromActive;
        op.unbonding -= fromUnbonding;
        _totalActive -= fromActive;
        _totalUnbonding -= fromUnbonding;
        if (fromActive != 0) _checkpointActive(operator, op.active);
        uint256 reward = reporter == address(0) ? 0 : (slashed * _reporterRewardBps) / BPS;
        emit Slashed(operator, slashed, reason, evidence, reporter, reward);
        if (reward != 0) token.safeTransfer(reporter, reward);
        ERC20Burnable(address(token)).burn(slashed - reward);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IStakeRegistry
    function isActive(bytes calldata peerId) external view returns (bool) {
        address operator = _peerOwner[keccak256(peerId)];
        return operator != address(0) && _operators[operator].active >= _minStake;
    }

    /// @inheritdoc IStakeRegistry
    function isActiveOperator(address operator) external view returns (bool) {
        return _operators[operator].active >= _minStake && _operators[operator].active != 0;
    }

    /// @notice The operator bound to `peerId`, or zero.
    function operatorOf(bytes calldata peerId) external view returns (address) {
        return _peerOwner[keccak256(peerId)];
    }

    /// @notice The peer ID bound to `operator`, or empty.
    function peerIdOf(address operator) external view returns (bytes memory) {
        return _operators[operator].peerId;
    }

    /// @notice Everything the node's admission check needs about `peerId`, in one call.
    function nodeInfo(bytes calldata peerId) external view returns (NodeInfo memory info) {
        address operator = _peerOwner[keccak256(peerId)];
        Operator storage op = _operators[operator];
        info = NodeInfo({
            operator: operator,
            activeStake: op.active,
            unbondingStake: op.unbonding,
            unbondingReleaseTime: op.unbondingReleaseTime,
            active: operator != address(0) && op.active >= _minStake
        });
    }

    /// @inheritdoc IStakeRegistry
    function activeStake(address operator) external view returns (uint256) {
        return _operators[operator].active;
    }

    /// @inheritdoc IStakeRegistry
    function activeStakeAt(address operator, uint256 blockNumber) external view returns (uint256) {
        _requirePastBlock(blockNumber);
        return _activeHistory[operator].upperLookupRecent(uint48(blockNumber));
    }

    /// @inheritdoc IStakeRegistry
    function totalActiveAt(uint256 blockNumber) external view returns (uint256) {
        _requirePastBlock(blockNumber);
        return _totalActiveHistory.upperLookupRecent(uint48(blockNumber));
    }

    /// @notice Stake of `operator` that is unbonding (still slashable).
    function unbondingStake(address operator) external view returns (uint256) {
        return _operators[operator].unbonding;
    }

    /// @notice When the unbonding stake of `operator` can be withdrawn.
    function unbondingReleaseTime(address operator) external view returns (uint64) {
        return _operators[operator].unbondingReleaseTime;
    }

    /// @inheritdoc IStakeRegistry
    function slashableStake(address operator) external view returns (uint256) {
        return _operators[operator].active + _operators[operator].unbonding;
    }

    /// @notice Sum of all active stake.
    function totalActiveStake() external view returns (uint256) {
        return _totalActive;
    }

    /// @notice Sum of all unbonding stake.
    function totalUnbondingStake() external view returns (uint256) {
        return _totalUnbonding;
    }

    /// @notice Minimum active stake of an active node.
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    /// @inheritdoc IStakeRegistry
    function unbondingDelay() external view returns (uint256) {
        return _unbondingDelay;
    }

    /// @notice Reporter's share of a slash, in basis points.
    function reporterRewardBps() external view returns (uint256) {
        return _reporterRewardBps;
    }

    /// @notice The only address allowed to slash.
    function slasher() external view returns (address) {
        return _slasher;
    }

    // ---------------------------------------------------------------- owner

    /// @notice Sets the slasher (the rounds contract). Only the owner.
    function setSlasher(address slasher_) external onlyOwner {
        if (slasher_ == address(0)) revert ZeroAddress();
        _slasher = slasher_;
        emit SlasherChanged(slasher_);
    }

    /// @notice Sets the minimum active stake (> 0). Only the owner.
    function setMinStake(uint256 value) external onlyOwner {
        _setMinStake(value);
    }

    /// @notice Sets the unbonding delay within [MIN_UNBONDING_DELAY, MAX_UNBONDING_DELAY]. Only the owner.
    /// @dev Applies to future requests; pending ones keep their release time.
    function setUnbondingDelay(uint256 value) external onlyOwner {
        _setUnbondingDelay(value);
    }

    /// @notice Sets the reporter's share of a slash, at most MAX_REPORTER_REWARD_BPS. Only the owner.
    function setReporterRewardBps(uint256 value) external onlyOwner {
        _setReporterRewardBps(value);
    }

    /// @notice Pauses staking and binding. Unstaking and withdrawing stay open. Only the owner.
    function pause() external onlyOwner {
        _pause();
    }

    /// @notice Lifts the pause. Only the owner.
    function unpause() external onlyOwner {
        _unpause();
    }

    // ---------------------------------------------------------------- internal

    function _stake(address operator, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        Operator storage op = _operators[operator];
        op.active += amount;
        _totalActive += amount;
        _checkpointActive(operator, op.active);
        emit Staked(operator, amount, op.active);
        token.safeTransferFrom(operator, address(this), amount);
    }

    /// @dev Records `active` as the operator's active stake, and the current total, at the end of this block
    /// (a later change in the same block overwrites the entry).
    function _checkpointActive(address operator, uint256 active) private {
        uint48 blockNumber = SafeCast.toUint48(block.number);
        _activeHistory[operator].push(blockNumber, SafeCast.toUint208(active));
        _totalActiveHistory.push(blockNumber, SafeCast.toUint208(_totalActive));
    }

    /// @dev A block's stakes are final only once the block is over, so lookups take past blocks only.
    function _requirePastBlock(uint256 blockNumber) private view {
        if (blockNumber >= block.number) revert FutureLookup(blockNumber, block.number);
    }

    function _setMinStake(uint256 value) private {
        if (value == 0) revert ParameterOutOfBounds("minStake", value);
        _minStake = value;
        emit ParameterChanged("minStake", value);
    }

    function _setUnbondingDelay(uint256 value) private {
        if (value < MIN_UNBONDING_DELAY || value > MAX_UNBONDING_DELAY) {
            revert ParameterOutOfBounds("unbondingDelay", value);
        }
        _unbondingDelay = value;
        emit ParameterChanged("unbondingDelay", value);
    }

    function _setReporterRewardBps(uint256 value) private {
        if (value > MAX_REPORTER_REWARD_BPS) revert ParameterOutOfBounds("reporterRewardBps", value);
        _reporterRewardBps = value;
        emit ParameterChanged("reporterRewardBps", value);
    }
}
