// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IStakeRegistry
/// @notice What the rounds contract and the node need from the stake registry.
interface IStakeRegistry {
    /// @notice Everything the node's admission check needs, in one call.
    struct NodeInfo {
        address operator;
        uint256 activeStake;
        uint256 unbondingStake;
        uint64 unbondingReleaseTime;
        bool active;
    }

    /// @notice A stake history lookup asked for block `blockNumber`, which is not over yet (`currentBlock`).
    error FutureLookup(uint256 blockNumber, uint256 currentBlock);

    /// @notice The token's permit error, re-thrown by `stakeWithPermit` when the permit failed and the allowance
    /// does not cover the stake; declared here so clients decoding with the registry's ABI name it.
    error ERC2612ExpiredSignature(uint256 deadline);
    /// @notice The token's permit error for a signature not made by `owner` (see `ERC2612ExpiredSignature`).
    error ERC2612InvalidSigner(address signer, address owner);

    /// @notice Why stake was slashed (carried in the `Slashed` event).
    /// 1 = wrong aggregate (failed chunk challenge), 2 = missed aggregation deadline,
    /// 3 = aggregator equivocation, 4 = trainer equivocation.
    function slash(address operator, uint256 amount, uint8 reason, bytes32 evidence, address reporter)
        external
        returns (uint256 slashed);

    /// @notice Splits a reward of `amount` earned by `operator`'s node: keeps the delegators' part (commission
    /// off, pro rata to delegated vs self-stake) and returns it; the caller transfers exactly that much to the
    /// registry and credits the rest to the operator. 0 when the operator has no delegators. Slasher only.
    function creditRewards(address operator, uint256 amount) external returns (uint256 toDelegators);

    /// @notice True when `peerId` is bound to an operator whose active stake is at least the minimum.
    function isActive(bytes calldata peerId) external view returns (bool);

    /// @notice True when `operator`'s counted stake (self + counted delegation) is at least the minimum.
    function isActiveOperator(address operator) external view returns (bool);

    /// @notice The operator's counted stake: active self-stake plus active delegation up to
    /// MAX_DELEGATION_RATIO × self (0 while retired). Admission, selection and slot eviction read this.
    function activeStake(address operator) external view returns (uint256);

    /// @notice The operator's counted stake (see `activeStake`) at the end of block `blockNumber`, from
    /// checkpoints written on every change of self-stake, delegation, retirement and slash.
    /// @dev Requirements: `blockNumber < block.number` (a block's stakes are final only once it is over),
    /// else `FutureLookup`. Costs O(log n) in the operator's number of stake changes, with a fast path for
    /// recent blocks.
    /// @param operator the operator
    /// @param blockNumber a past block number
    /// @return the active stake at the end of that block
    function activeStakeAt(address operator, uint256 blockNumber) external view returns (uint256);

    /// @notice Active plus unbonding stake, self and delegated: everything that can still be slashed.
    function slashableStake(address operator) external view returns (uint256);

    /// @notice The minimum counted stake of an active operator.
    function minStake() external view returns (uint256);

    /// @notice The unbonding delay in seconds.
    function unbondingDelay() external view returns (uint256);
}
