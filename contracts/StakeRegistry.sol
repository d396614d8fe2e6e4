// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";
import {StakeRegistryParameters} from "./StakeRegistryParameters.sol";
import {DelegationPools} from "./delegation/DelegationPools.sol";

/// @title StakeRegistry
/// @notice Operators bond VAIN tokens, bind their libp2p peer ID, and unbond through a delay during which
/// their stake stays slashable. Only the slasher (the rounds contract, fixed once) can slash; a share of the
/// slashed amount rewards the reporter and the rest is burned. The owner cannot move or reduce anyone's stake:
/// it can only queue bounded, delayed parameter changes (`StakeRegistryParameters`) and pause new stake.
/// Token holders may delegate to an operator (`DelegationPools`): an operator's stake for admission, selection
/// and slashing is its self-stake plus its counted delegation, and a slash reaches both pro rata.
/// @dev Peer IDs are the multihash bytes of a libp2p peer ID. The chain cannot check that the operator holds
/// the peer's Ed25519 key; the mesh's admission handshake proves that off chain (see docs/protocol.md §2).
contract StakeRegistry is IStakeRegistry, DelegationPools {
    using SafeERC20 for IERC20;
    using Checkpoints for Checkpoints.Trace208;

    /// @notice Basis-point denominator.
    uint256 public constant BPS = 10_000;
    /// @notice Longest accepted peer ID (an identity multihash of an Ed25519 key is 38 bytes).
    uint256 public constant MAX_PEER_ID_LENGTH = 64;
    /// @notice Most unbonding requests an operator can have pending at once: each keeps its own release time,
    /// and slashing and withdrawing walk them, so the bound keeps those loops cheap.
    uint256 public constant MAX_UNBONDING_ENTRIES = 8;

    /// @notice One unstake request: `amount` released at `releaseTime` (unix seconds).
    struct Unbonding {
        uint192 amount;
        uint64 releaseTime;
    }

    struct Operator {
        uint256 active;
        uint256 unbonding;
        bytes peerId;
        Unbonding[] queue; // in request order
    }

    /// @notice The staked token.
    IERC20 public immutable token;

    address private _slasher;
    uint256 private _totalActive;
    uint256 private _totalUnbonding;

    mapping(address operator => Operator) private _operators;
    mapping(bytes32 peerIdHash => address operator) private _peerOwner;
    /// @dev Counted stake (self + counted delegation) per operator after each block that changed it, keyed by block number, so the rounds
    /// contract can read stakes fixed before its randomness is known (selection cannot be ground by top-ups).
    mapping(address operator => Checkpoints.Trace208) private _activeHistory;

    /// @notice `operator` added `amount` to its active stake.
    event Staked(address indexed operator, uint256 amount, uint256 activeStake);
    /// @notice `operator` moved `amount` from active to unbonding stake (now `unbondingStake` in all), this
    /// request withdrawable at `releaseTime`.
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
    /// @notice The slasher was fixed (once, for good).
    event SlasherChanged(address indexed slasher);

    /// @notice An amount of zero was given.
    error ZeroAmount();
    /// @notice The operator asked to unstake more than its active stake.
    error InsufficientActiveStake(uint256 requested, uint256 available);
    /// @notice No unbonding request is released yet; `releaseTime` is the next release (0 when none is pending).
    error NothingToWithdraw(uint64 releaseTime);
    /// @notice The operator already has `MAX_UNBONDING_ENTRIES` requests pending; withdraw released ones first.
    error TooManyUnbondingEntries(uint256 max);
    /// @notice Binding a peer ID needs at least the minimum active stake.
    error InsufficientStakeToBind(uint256 activeStake, uint256 minStake);
    /// @notice Staking opens once the slasher is fixed, so every staker knows who can slash.
    error SlasherNotSet();
    /// @notice The slasher is already fixed and cannot change.
    error SlasherAlreadySet(address slasher);
    /// @notice The permit failed (without a reason) and the allowance does not cover the stake.
    error PermitFailed();
    /// @notice The peer ID is empty or longer than `MAX_PEER_ID_LENGTH`.
    error InvalidPeerId();
    /// @notice The peer ID is bound to another operator.
    error PeerIdTaken(address owner);
    /// @notice The operator has no peer ID bound.
    error NoPeerIdBound();
    /// @notice Only the slasher may call this.
    error NotSlasher(address caller);
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
    ) Ownable(owner_) StakeRegistryParameters(minStake_, unbondingDelay_, reporterRewardBps_) {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
    }

    // ---------------------------------------------------------------- staking

    /// @notice Adds `amount` tokens to the caller's active stake (approve first, or use `stakeWithPermit`).
    /// @dev Requirements: not paused; the slasher is set; `amount > 0`.
    function stake(uint256 amount) external nonReentrant whenNotPaused {
        _stake(msg.sender, amount);
    }

    /// @notice Approves with an EIP-2612 permit and stakes in one transaction.
    /// @dev A permit front-run by someone else leaves the allowance in place, so a failed `permit` is
    /// tolerated when the allowance already covers `amount` (OpenZeppelin's recommended pattern). Otherwise the
    /// permit's own error is re-thrown (e.g. `ERC2612InvalidSigner`), so a bad signature is reported as such.
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        whenNotPaused
    {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch (
            bytes memory reason
        ) {
            if (token.allowance(msg.sender, address(this)) < amount) {
                if (reason.length == 0) revert PermitFailed();
                assembly ("memory-safe") {
                    revert(add(reason, 0x20), mload(reason))
                }
            }
        }
        _stake(msg.sender, amount);
    }

    /// @notice Moves `amount` from active to unbonding stake, released `unbondingDelay` from now. Each request
    /// keeps its own release time (a later request never delays an earlier one). Allowed while paused.
    /// @dev Requirements: `0 < amount <= active stake`; fewer than `MAX_UNBONDING_ENTRIES` requests pending,
    /// except that a request with the same release time as the latest one joins it.
    function requestUnstake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Operator storage op = _operators[msg.sender];
        if (amount > op.active) revert InsufficientActiveStake(amount, op.active);
        uint64 releaseTime = SafeCast.toUint64(block.timestamp + unbondingDelay());
        Unbonding[] storage queue = op.queue;
        uint256 n = queue.length;
        if (n != 0 && queue[n - 1].releaseTime == releaseTime) {
            queue[n - 1].amount += SafeCast.toUint192(amount);
        } else {
            if (n == MAX_UNBONDING_ENTRIES) revert TooManyUnbondingEntries(MAX_UNBONDING_ENTRIES);
            queue.push(Unbonding({amount: SafeCast.toUint192(amount), releaseTime: releaseTime}));
        }
        op.active -= amount;
        op.unbonding += amount;
        _totalActive -= amount;
        _totalUnbonding += amount;
        _backingChanged(msg.sender);
        emit UnstakeRequested(msg.sender, amount, op.unbonding, releaseTime);
    }

    /// @notice Withdraws every unbonding request whose release time has come; the others stay queued in
    /// order. Never blocked by the pause.
    function withdraw() external nonReentrant {
        Operator storage op = _operators[msg.sender];
        Unbonding[] storage queue = op.queue;
        uint256 amount;
        uint256 kept;
        uint256 n = queue.length;
        for (uint256 i = 0; i < n; i++) {
            Unbonding memory entry = queue[i];
            if (entry.releaseTime <= block.timestamp) {
                amount += entry.amount;
            } else {
                if (kept != i) queue[kept] = entry;
                kept++;
            }
        }
        if (amount == 0) revert NothingToWithdraw(_nextRelease(queue));
        for (uint256 i = kept; i < n; i++) queue.pop();
        op.unbonding -= amount;
        _totalUnbonding -= amount;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- peer identity

    /// @notice Binds the caller to `peerId`, replacing its previous peer ID (which becomes free).
    /// @dev One peer ID per operator and one operator per peer ID. Rebinding is allowed at any time so an
    /// operator can rotate a compromised node key. Requirements: the caller's active stake is at least the
    /// minimum (no zero-stake squatting); `peerId` is free, or bound to an operator whose active stake fell
    /// below the minimum, which loses it (a squatter must keep a full minimum stake bonded to hold an ID).
    function bindPeerId(bytes calldata peerId) external whenNotPaused {
        if (peerId.length == 0 || peerId.length > MAX_PEER_ID_LENGTH) revert InvalidPeerId();
        Operator storage op = _operators[msg.sender];
        uint256 min = minStake();
        uint256 counted = _counted(msg.sender);
        if (counted < min) revert InsufficientStakeToBind(counted, min);
        bytes32 key = keccak256(peerId);
        address owner_ = _peerOwner[key];
        if (owner_ != address(0) && owner_ != msg.sender) {
            if (_counted(owner_) >= min) revert PeerIdTaken(owner_);
            delete _operators[owner_].peerId;
            emit PeerIdUnbound(owner_, peerId);
        }
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
    /// @dev Takes at most what the operator and its delegators have, pro rata: the delegated pools (active and
    /// unbonding) lose `amount × theirs / slashable`; the self part comes from active stake first, then
    /// unbonding requests, latest first. The reporter's share is rounded down, so rounding never favours the
    /// reporter; the rest is burned. A report by the offender itself earns nothing (all of it is burned).
    function slash(address operator, uint256 amount, uint8 reason, bytes32 evidence, address reporter)
        external
        nonReentrant
        returns (uint256 slashed)
    {
        if (msg.sender != _slasher) revert NotSlasher(msg.sender);
        Operator storage op = _operators[operator];
        uint256 selfSlashable = op.active + op.unbonding;
        uint256 total = selfSlashable + _delegatedSlashable(operator);
        if (amount > total) amount = total;
        if (amount == 0) return 0;
        uint256 fromDelegated = _slashDelegated(operator, amount, total, selfSlashable);
        uint256 own = amount - fromDelegated;
        uint256 fromActive = own < op.active ? own : op.active;
        uint256 fromUnbonding = _slashUnbonding(op.queue, own - fromActive);
        slashed = fromActive + fromUnbonding + fromDelegated;
        op.active -= fromActive;
        op.unbonding -= fromUnbonding;
        _totalActive -= fromActive;
        _totalUnbonding -= fromUnbonding;
        _backingChanged(operator);
        uint256 reward = reporter == address(0) || reporter == operator
            ? 0
            : (slashed * reporterRewardBps()) / BPS;
        emit Slashed(operator, slashed, reason, evidence, reporter, reward);
        if (reward != 0) token.safeTransfer(reporter, reward);
        ERC20Burnable(address(token)).burn(slashed - reward);
    }

    /// @notice Splits a reward earned by `operator`'s node (delegation): returns the delegators' part, which
    /// the caller (the slasher, i.e. the rounds contract) transfers here right after; the rest is the
    /// operator's to credit. Returns 0 for an operator without delegators. Slasher only.
    function creditRewards(address operator, uint256 amount) external returns (uint256 toDelegators) {
        if (msg.sender != _slasher) revert NotSlasher(msg.sender);
        return _creditRewards(operator, amount);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IStakeRegistry
    function isActive(bytes calldata peerId) external view returns (bool) {
        address operator = _peerOwner[keccak256(peerId)];
        return operator != address(0) && _counted(operator) >= minStake();
    }

    /// @inheritdoc IStakeRegistry
    function isActiveOperator(address operator) external view returns (bool) {
        uint256 counted = _counted(operator);
        return counted >= minStake() && counted != 0;
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
            activeStake: _counted(operator),
            unbondingStake: op.unbonding,
            unbondingReleaseTime: _nextRelease(op.queue),
            active: operator != address(0) && _counted(operator) >= minStake()
        });
    }

    /// @inheritdoc IStakeRegistry
    function minStake() public view override(IStakeRegistry, StakeRegistryParameters) returns (uint256) {
        return super.minStake();
    }

    /// @inheritdoc IStakeRegistry
    function activeStake(address operator) external view returns (uint256) {
        return _counted(operator);
    }

    /// @notice The operator's own active stake (without delegation).
    function selfStake(address operator) external view returns (uint256) {
        return _operators[operator].active;
    }

    /// @inheritdoc IStakeRegistry
    function activeStakeAt(address operator, uint256 blockNumber) external view returns (uint256) {
        _requirePastBlock(blockNumber);
        return _activeHistory[operator].upperLookupRecent(uint48(blockNumber));
    }

    /// @notice Stake of `operator` that is unbonding (still slashable).
    function unbondingStake(address operator) external view returns (uint256) {
        return _operators[operator].unbonding;
    }

    /// @notice The earliest release time among `operator`'s pending unbonding requests (0 when none).
    function unbondingReleaseTime(address operator) external view returns (uint64) {
        return _nextRelease(_operators[operator].queue);
    }

    /// @notice `operator`'s pending unbonding requests, in request order.
    function unbondingRequests(address operator) external view returns (Unbonding[] memory) {
        return _operators[operator].queue;
    }

    /// @notice Unbonding stake of `operator` that `withdraw` would pay now.
    function withdrawableStake(address operator) external view returns (uint256 amount) {
        Unbonding[] storage queue = _operators[operator].queue;
        for (uint256 i = 0; i < queue.length; i++) {
            if (queue[i].releaseTime <= block.timestamp) amount += queue[i].amount;
        }
    }

    /// @inheritdoc IStakeRegistry
    function slashableStake(address operator) external view returns (uint256) {
        return _operators[operator].active + _operators[operator].unbonding + _delegatedSlashable(operator);
    }

    /// @notice Sum of all active self-stake (delegation: `delegationTotals`).
    function totalActiveStake() external view returns (uint256) {
        return _totalActive;
    }

    /// @notice Sum of all unbonding self-stake.
    function totalUnbondingStake() external view returns (uint256) {
        return _totalUnbonding;
    }

    /// @inheritdoc IStakeRegistry
    function unbondingDelay()
        public
        view
        override(IStakeRegistry, StakeRegistryParameters)
        returns (uint256)
    {
        return super.unbondingDelay();
    }

    /// @notice The only address allowed to slash.
    function slasher() external view returns (address) {
        return _slasher;
    }

    // ---------------------------------------------------------------- owner

    /// @notice Fixes the slasher (the rounds contract) once and for all. Only the owner, only while unset.
    /// @dev A constructor argument would be circular (the rounds contract takes the registry's address), and
    /// predicting the rounds contract's CREATE address ties deployment to an exact nonce sequence. A one-shot
    /// setter gives the same guarantee because staking stays closed until it is called (`SlasherNotSet`):
    /// every staker can read the slasher before staking, and nobody, the owner included, can change it later.
    function setSlasher(address slasher_) external onlyOwner {
        if (slasher_ == address(0)) revert ZeroAddress();
        if (_slasher != address(0)) revert SlasherAlreadySet(_slasher);
        _slasher = slasher_;
        emit SlasherChanged(slasher_);
    }

    /// @notice Pauses staking and binding. Unstaking, withdrawing and slashing stay open. Only the owner.
    function pause() external onlyOwner {
        _pause();
    }

    /// @notice Lifts the pause. Only the owner.
    function unpause() external onlyOwner {
        _unpause();
    }

    // ---------------------------------------------------------------- internal

    function _stake(address operator, uint256 amount) private {
        if (_slasher == address(0)) revert SlasherNotSet();
        if (amount == 0) revert ZeroAmount();
        Operator storage op = _operators[operator];
        op.active += amount;
        _totalActive += amount;
        _backingChanged(operator);
        emit Staked(operator, amount, op.active);
        token.safeTransferFrom(operator, address(this), amount);
    }

    /// @dev Records the operator's counted stake at the end of this block (a later change in the same block
    /// overwrites the entry). No history of the total is kept: nothing reads it, and it would cost every
    /// stake, unstake and slash another storage slot (~22k gas) per block.
    function _backingChanged(address operator) internal override {
        _activeHistory[operator].push(SafeCast.toUint48(block.number), SafeCast.toUint208(_counted(operator)));
    }

    /// @dev Self-stake plus counted delegation; zero while retired.
    function _counted(address operator) private view returns (uint256) {
        if (_isRetired(operator)) return 0;
        uint256 own = _operators[operator].active;
        return own + _countedDelegation(operator, own);
    }

    function _stakeToken() internal view override returns (IERC20) {
        return token;
    }

    function _requireStakingOpen() internal view override {
        if (_slasher == address(0)) revert SlasherNotSet();
    }

    function _selfActive(address operator) internal view override returns (uint256) {
        return _operators[operator].active;
    }

    /// @dev A block's stakes are final only once the block is over, so lookups take past blocks only.
    function _requirePastBlock(uint256 blockNumber) private view {
        if (blockNumber >= block.number) revert FutureLookup(blockNumber, block.number);
    }

    /// @dev Takes up to `amount` from the unbonding requests, latest first; returns what it took.
    function _slashUnbonding(Unbonding[] storage queue, uint256 amount) private returns (uint256 taken) {
        uint256 n = queue.length;
        while (n != 0 && taken < amount) {
            Unbonding storage entry = queue[n - 1];
            uint256 want = amount - taken;
            if (entry.amount > want) {
                entry.amount -= uint192(want);
                return amount;
            }
            taken += entry.amount;
            queue.pop();
            n--;
        }
    }

    /// @dev The earliest release time in `queue`, or 0 when it is empty.
    function _nextRelease(Unbonding[] storage queue) private view returns (uint64 next) {
        for (uint256 i = 0; i < queue.length; i++) {
            uint64 t = queue[i].releaseTime;
            if (next == 0 || t < next) next = t;
        }
    }
}
