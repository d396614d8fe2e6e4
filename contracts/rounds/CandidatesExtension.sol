// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IRoundSelection} from "../interfaces/IRoundSelection.sol";
import {ITrainingRounds} from "../interfaces/ITrainingRounds.sol";
import {RoundsStorage} from "./RoundsStorage.sol";

/// @title CandidatesExtension
/// @notice Aggregator candidates, per task, run at TrainingRounds' address as part of RoundsExtension
/// (delegatecall from TrainingRounds' fallback): operators volunteer for a task's rounds (`setAggregatorOptIn`),
/// a full list makes room for an active, richer newcomer, and anyone prunes inactive candidates. A round's
/// selection (RoundsExtension.lockSelection) reads only its own task's list, so no operator is held to aggregate a
/// task it does not run. The lists live in a namespaced slot (ERC-7201), apart from TrainingRounds' layout.
abstract contract CandidatesExtension is RoundsStorage, IRoundSelection {
    /// @notice Hard cap on a task's opted-in aggregator candidates: bounds the lock and eviction loops.
    uint256 public constant MAX_AGGREGATOR_CANDIDATES = 64;

    /// @dev One task's candidates.
    struct CandidatesStorage {
        address[] list;
        mapping(address candidate => uint256 indexPlusOne) indexOf;
    }

    /// @custom:storage-location erc7201:vain.storage.RoundCandidatesByTask
    struct CandidatesByTaskStorage {
        mapping(uint256 taskId => CandidatesStorage) byTask;
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("vain.storage.RoundCandidatesByTask")) - 1)) &
    /// ~bytes32(uint256(0xff))
    bytes32 private constant CANDIDATES_SLOT = 0xb91f4e690ef74b5dc2a8e49a4b1682900170b74a2fcfaeb486c6e93ce3269800;

    /// @inheritdoc IRoundSelection
    function setAggregatorOptIn(uint256 taskId, bool optIn) external {
        CandidatesStorage storage c = _candidates(taskId);
        uint256 index = c.indexOf[msg.sender];
        if (optIn) {
            if (index != 0) return;
            if (_tasks[taskId].creator == address(0)) revert ITrainingRounds.UnknownTask(taskId);
            if (!registry.isActiveOperator(msg.sender)) revert ITrainingRounds.NotActiveOperator(msg.sender);
            if (c.list.length >= MAX_AGGREGATOR_CANDIDATES) _makeRoomFor(c, taskId, msg.sender);
            c.list.push(msg.sender);
            c.indexOf[msg.sender] = c.list.length;
        } else {
            if (index == 0) return;
            _remove(c, msg.sender, index);
        }
        emit ITrainingRounds.AggregatorOptIn(msg.sender, taskId, optIn);
    }

    /// @inheritdoc IRoundSelection
    function pruneCandidates(uint256 taskId, address[] calldata candidates) external returns (uint256 removed) {
        CandidatesStorage storage c = _candidates(taskId);
        for (uint256 i = 0; i < candidates.length; ++i) {
            address candidate = candidates[i];
            uint256 index = c.indexOf[candidate];
            if (index == 0 || registry.isActiveOperator(candidate)) continue;
            _remove(c, candidate, index);
            emit ITrainingRounds.CandidateRemoved(candidate, taskId, msg.sender);
            ++removed;
        }
    }

    /// @inheritdoc IRoundSelection
    function aggregatorCandidates(uint256 taskId) external view returns (address[] memory) {
        return _candidates(taskId).list;
    }

    /// @dev Task `taskId`'s candidates.
    function _candidates(uint256 taskId) internal view returns (CandidatesStorage storage) {
        CandidatesByTaskStorage storage s;
        bytes32 slot = CANDIDATES_SLOT;
        assembly {
            s.slot := slot
        }
        return s.byTask[taskId];
    }

    /// @dev Drops the first inactive candidate, else the least-staked one if `newcomer` has more stake.
    function _makeRoomFor(CandidatesStorage storage c, uint256 taskId, address newcomer) private {
        uint256 n = c.list.length;
        uint256 lowestIndex;
        uint256 lowestStake = type(uint256).max;
        for (uint256 i = 0; i < n; ++i) {
            address candidate = c.list[i];
            if (!registry.isActiveOperator(candidate)) {
                lowestIndex = i;
                lowestStake = 0;
                break;
            }
            uint256 stake = registry.activeStake(candidate);
            if (stake < lowestStake) {
                lowestStake = stake;
                lowestIndex = i;
            }
        }
        if (lowestStake != 0 && registry.activeStake(newcomer) <= lowestStake) {
            revert ITrainingRounds.TooManyCandidates();
        }
        address evicted = c.list[lowestIndex];
        _remove(c, evicted, lowestIndex + 1);
        emit ITrainingRounds.CandidateRemoved(evicted, taskId, newcomer);
    }

    /// @dev Swap-and-pop removal of `candidate` at `indexPlusOne`.
    function _remove(CandidatesStorage storage c, address candidate, uint256 indexPlusOne) private {
        address last = c.list[c.list.length - 1];
        c.list[indexPlusOne - 1] = last;
        c.indexOf[last] = indexPlusOne;
        c.list.pop();
        delete c.indexOf[candidate];
    }
}
