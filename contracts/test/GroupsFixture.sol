// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {RoundsExtension} from "../rounds/RoundsExtension.sol";
import {RoundDriver} from "./RoundDriver.sol";
import {RoundsFixture} from "./RoundsFixture.sol";

/// @notice Hierarchical-round set-up: a pool of staked operators and the links of the test's task hierarchy, to
/// find which operators a group epoch's seed draws into a group task (docs/protocol.md §7), the way a node does.
abstract contract GroupsFixture is RoundsFixture {
    RoundsExtension internal ext;
    /// @dev Operators staked for group rounds (each 200e18), before any group seed is drawn.
    address[] internal pool;
    mapping(uint256 child => uint256) internal parentOf;
    mapping(uint256 child => uint256) internal indexOf;
    mapping(uint256 parent => uint256) internal groupsOf;

    /// Deploys the round fixture and stakes `size` pool operators, `SEED_BLOCK_DELAY` blocks before anything else.
    function _setUpGroups(uint256 size) internal {
        _setUpRounds();
        ext = RoundsExtension(address(rounds));
        for (uint256 i; i < size; ++i) {
            address operator = vm.addr(0x9000 + i);
            _fundAndStake(operator, 200e18);
            pool.push(operator);
        }
        vm.roll(block.number + rounds.SEED_BLOCK_DELAY() + 1);
    }

    /// Links `child` under `parent` (as its creator) and records the link as the node reads it from events.
    function _link(uint256 child, uint256 parent) internal {
        ext.linkTask(child, parent);
        parentOf[child] = parent;
        indexOf[child] = groupsOf[parent]++;
    }

    /// Whether `epoch`'s seed draws `operator` into `task` at every level up to the root, computed here as a
    /// node computes it: `keccak(seed, parent, operator) mod groups` is the child's link index.
    function _drawnInto(address operator, uint256 task, uint256 epoch) internal view returns (bool) {
        (bytes32 seed, ) = ext.groupSeed(epoch);
        for (uint256 child = task; parentOf[child] != 0; child = parentOf[child]) {
            uint256 parent = parentOf[child];
            if (uint256(keccak256(abi.encode(seed, parent, operator))) % groupsOf[parent] != indexOf[child]) return false;
        }
        return true;
    }

    /// The first `n` pool operators drawn into `roundId`'s group task under the round's group epoch.
    function _members(uint256 roundId, uint256 task, uint256 n) internal view returns (address[] memory found) {
        uint256 epoch = selection.getDraws(roundId).groupEpoch;
        found = new address[](n);
        uint256 k;
        for (uint256 i; i < pool.length && k < n; ++i) if (_drawnInto(pool[i], task, epoch)) found[k++] = pool[i];
        require(k == n, "pool too small for the group");
    }

    /// The first pool operator NOT drawn into `task` under `epoch`.
    function _outsider(uint256 task, uint256 epoch) internal view returns (address) {
        for (uint256 i; i < pool.length; ++i) if (!_drawnInto(pool[i], task, epoch)) return pool[i];
        revert("every pool operator is in the group");
    }

    /// Draws the current group epoch's seed (both steps) with `mix` as its seed block's prevrandao, if not fixed yet.
    /// A seed block already armed (and within reach) is kept: its header is given with `mix`.
    function _drawSeed(bytes32 mix) internal returns (uint256 epoch) {
        epoch = block.timestamp / rounds.GROUP_EPOCH() + 1;
        (bytes32 seed, uint256 seedBlock) = selection.groupSeed(epoch);
        if (seed != 0) return epoch;
        if (seedBlock == 0 || block.number > seedBlock + 256) {
            selection.drawGroupSeed(""); // arms the seed block
            (, seedBlock) = selection.groupSeed(epoch);
        }
        selection.drawGroupSeed(RoundDriver.prepare(seedBlock, mix));
    }

    /// Draws a posted round's sampled chunk, has `agg` answer it with a valid proof, and finalizes the round.
    function _answerSampleAndFinalize(uint256 roundId) internal {
        RoundDriver.draw(rounds, roundId, keccak256(abi.encode("samples", roundId)));
        uint256 chunk = _sampledChunk(roundId);
        bytes memory proof = _proof(roundId, chunk);
        vm.prank(agg);
        rounds.answerChallenge(roundId, chunk, proof);
        _warpPastJudgement(roundId);
        rounds.finalizeRound(roundId);
    }

    /// Draws the epoch's seed if needed, opens a round of group task `task`, commits three of its drawn members (100, 300 and 600 samples) and
    /// closes the commit window.
    function _openAndCommitMembers(uint256 task) internal returns (uint256 roundId) {
        _drawSeed(keccak256("mix")); // a no-op once the epoch's seed is fixed
        roundId = rounds.openRound(task);
        address[] memory members = _members(roundId, task, 3);
        uint64[3] memory samples = [uint64(100), 300, 600];
        for (uint256 i; i < 3; ++i) {
            vm.prank(members[i]);
            rounds.commitUpdate(roundId, keccak256(abi.encode("c", i)), samples[i]);
        }
        vm.warp(block.timestamp + 61);
    }
}
