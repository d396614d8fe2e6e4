// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {GroupsFixture} from "./test/GroupsFixture.sol";
import {BlockHeader} from "./rounds/BlockHeader.sol";
import {BlockHeaders} from "./test/BlockHeaders.sol";
import {RoundDriver} from "./test/RoundDriver.sol";
import {NUM_CHUNKS} from "./test/RoundsFixture.sol";

/// @notice Group membership in hierarchical rounds is a rule, not a convention (docs/protocol.md §7,
/// SECURITY.md): a group task's round takes updates only from the operators its group epoch's seed draws into
/// it, and only from operators staked before the seed was drawn. The attacks: commit into a chosen group,
/// grind a fresh address for a group once the seed is known, top up a dormant address after it, and use a round
/// opened before its task was linked.
contract RoundGroupMembershipTest is GroupsFixture {
    uint256 internal constant GROUPS = 4;
    uint256 internal parentTask;
    uint256[GROUPS] internal groups;

    function setUp() public {
        _setUpGroups(32);
        parentTask = rounds.createTask(_taskConfig(bytes32("model0"), NUM_CHUNKS, REWARD, 20_000, 60, 120, 0));
        token.approve(address(rounds), (GROUPS + 1) * 10 * REWARD);
        rounds.fundTask(parentTask, 10 * REWARD);
        for (uint256 g; g < GROUPS; ++g) {
            groups[g] = rounds.createTask(_taskConfig(bytes32(g), NUM_CHUNKS, REWARD, 60, 60, 120, 0));
            rounds.fundTask(groups[g], 10 * REWARD);
            _link(groups[g], parentTask);
        }
    }

    /// Draws the epoch's seed (`mix` its seed block's prevrandao) and opens a round of every group; their IDs.
    function _openAll(bytes32 mix) internal returns (uint256[GROUPS] memory roundIds) {
        _drawSeed(mix);
        for (uint256 g; g < GROUPS; ++g) roundIds[g] = rounds.openRound(groups[g]);
    }

    /// Moves to the start of the next group epoch.
    function _nextEpoch() internal {
        vm.warp((block.timestamp / rounds.GROUP_EPOCH() + 1) * rounds.GROUP_EPOCH());
        vm.roll(block.number + 1);
    }

    /// Every staked operator may commit into exactly one group of the parent: the one the seed draws. Into
    /// any other it is refused, whichever it prefers.
    function test_anOperatorCommitsOnlyIntoTheGroupTheSeedDraws() public {
        uint256[GROUPS] memory roundIds = _openAll(bytes32(uint256(0xA11CE)));
        uint256 epoch = selection.getDraws(roundIds[0]).groupEpoch;
        (bytes32 seed, uint256 seedBlock) = selection.groupSeed(epoch);
        assertTrue(seed == keccak256(abi.encode(uint256(0xA11CE), epoch)), "keccak(seed block's prevrandao, epoch)");
        assertTrue(seedBlock != 0 && seedBlock < block.number, "a mined block after the draw's");
        uint256[GROUPS] memory sizes;
        for (uint256 i; i < pool.length; ++i) {
            address operator = pool[i];
            uint256 drawn = uint256(keccak256(abi.encode(seed, parentTask, operator))) % GROUPS;
            for (uint256 g; g < GROUPS; ++g) {
                if (g == drawn) continue;
                vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotGroupMember.selector, operator, groups[g]));
                vm.prank(operator);
                rounds.commitUpdate(roundIds[g], bytes32("chosen"), 100);
            }
            if (sizes[drawn] == rounds.MAX_PROVEN_TRAINERS()) continue; // full: a slot would go to stake
            vm.prank(operator);
            rounds.commitUpdate(roundIds[drawn], bytes32("drawn"), 100);
            sizes[drawn] += 1;
        }
        for (uint256 g; g < GROUPS; ++g) assertEq(selection.getRound(roundIds[g]).trainers.length, sizes[g], "size");
    }

    /// Grinding: once the seed is known an attacker can make an address for any group in ~GROUPS tries. Staked
    /// after the seed, it trains in no group round of the epoch; in the next epoch its group is drawn anew.
    function test_anAddressGroundAfterTheSeedWaitsForTheNextEpoch() public {
        uint256[GROUPS] memory roundIds = _openAll(bytes32(uint256(7)));
        uint256 epoch = selection.getDraws(roundIds[0]).groupEpoch;
        (bytes32 seed, ) = selection.groupSeed(epoch);
        address ground;
        for (uint256 k = 1; ground == address(0); ++k) {
            address candidate = vm.addr(0xBAD000 + k);
            if (uint256(keccak256(abi.encode(seed, parentTask, candidate))) % GROUPS == 0) ground = candidate;
        }
        _fundAndStake(ground, 1_000e18);
        vm.roll(block.number + 10);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.StakeNewerThanGroupSeed.selector, ground, epoch));
        vm.prank(ground);
        rounds.commitUpdate(roundIds[0], bytes32("ground"), 100);

        // Still the same epoch: a round opened later in it keeps the seed, and the refusal.
        vm.warp(block.timestamp + 61);
        vm.roll(block.number + 1);
        assertEq(_drawSeed(bytes32(uint256(8))), epoch, "same epoch: nothing redrawn");
        (bytes32 again, ) = selection.groupSeed(epoch);
        assertTrue(again == seed, "the epoch's seed does not move");

        // Next epoch: a fresh seed draws it like everyone else, wherever that is.
        _nextEpoch();
        uint256 next = _drawSeed(bytes32(uint256(0xD1CE)));
        assertEq(next, epoch + 1, "the next epoch");
        (bytes32 fresh, ) = selection.groupSeed(next);
        assertTrue(fresh == keccak256(abi.encode(uint256(0xD1CE), next)), "its own seed");
        uint256 drawn = uint256(keccak256(abi.encode(fresh, parentTask, ground))) % GROUPS;
        // The epoch's rounds drew no trainer: each closes unpaid, and its task is free to open the next.
        for (uint256 g; g < GROUPS; ++g) selection.lockSelection(roundIds[g]);
        uint256 roundId = rounds.openRound(groups[drawn]);
        assertEq(selection.getDraws(roundId).groupEpoch, next, "opened in the next epoch");
        vm.prank(ground);
        rounds.commitUpdate(roundId, bytes32("next"), 100);
        uint256 other = rounds.openRound(groups[(drawn + 1) % GROUPS]);
        vm.expectRevert(
            abi.encodeWithSelector(ITrainingRounds.NotGroupMember.selector, ground, groups[(drawn + 1) % GROUPS])
        );
        vm.prank(ground);
        rounds.commitUpdate(other, bytes32("chosen"), 100);
    }

    /// Until someone draws the epoch's seed, a group round takes nobody's update (no group is known yet); once
    /// drawn, the round opened before the draw takes the drawn members.
    function test_noUpdateBeforeTheSeedIsDrawn() public {
        vm.warp((block.timestamp / rounds.GROUP_EPOCH() + 1) * rounds.GROUP_EPOCH()); // a fresh epoch
        uint256 roundId = rounds.openRound(groups[0]);
        uint256 epoch = selection.getDraws(roundId).groupEpoch;
        (, uint256 none) = selection.groupSeed(epoch);
        assertEq(none, 0, "not drawn");
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotGroupMember.selector, pool[0], groups[0]));
        vm.prank(pool[0]);
        rounds.commitUpdate(roundId, bytes32("early"), 100);
        vm.roll(block.number + 1);
        assertEq(selection.drawGroupSeed(""), epoch, "the draw starts: its seed block is set");
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotGroupMember.selector, pool[0], groups[0]));
        vm.prank(pool[0]);
        rounds.commitUpdate(roundId, bytes32("early"), 100);
        assertEq(_drawSeed(bytes32(uint256(9))), epoch, "fixed for the round's epoch");
        address member = _members(roundId, groups[0], 1)[0];
        vm.prank(member);
        rounds.commitUpdate(roundId, bytes32("drawn"), 100);
    }

    /// The first drawer cannot choose the seed: its call only names a seed block SEED_BLOCK_DELAY ahead, whose
    /// prevrandao nobody knows when it is sent; the seed is fixed from that block's header alone (another block's
    /// header, or a made-up one, is refused), a second "first call" while the block is pending changes nothing,
    /// and a seed block left unproven past `blockhash` reach is replaced by a new one ahead.
    function test_theFirstDrawerCannotChooseTheSeed() public {
        vm.warp((block.timestamp / rounds.GROUP_EPOCH() + 1) * rounds.GROUP_EPOCH()); // a fresh epoch
        uint256 epoch = selection.drawGroupSeed("");
        (bytes32 seed, uint256 seedBlock) = selection.groupSeed(epoch);
        assertTrue(seed == 0, "not fixed by the first call");
        assertEq(seedBlock, block.number + rounds.SEED_BLOCK_DELAY(), "a block ahead");
        vm.expectRevert(abi.encodeWithSelector(BlockHeader.BlockHashUnavailable.selector, seedBlock));
        selection.drawGroupSeed(""); // pending: neither re-armed nor fixed
        vm.roll(seedBlock + 1);
        vm.setBlockhash(seedBlock, keccak256(BlockHeaders.header(bytes32(uint256(1)), seedBlock)));
        vm.expectRevert(abi.encodeWithSelector(BlockHeader.HeaderMismatch.selector, seedBlock));
        selection.drawGroupSeed(BlockHeaders.header(bytes32(uint256(2)), seedBlock)); // a mix of the drawer's choice
        vm.expectRevert(abi.encodeWithSelector(BlockHeader.HeaderMismatch.selector, seedBlock));
        selection.drawGroupSeed(BlockHeaders.header(bytes32(uint256(1)), seedBlock - 1)); // another block's header
        vm.roll(seedBlock + 257); // nobody proved it in time: the next call arms a new block ahead
        selection.drawGroupSeed("");
        (seed, seedBlock) = selection.groupSeed(epoch);
        assertTrue(seed == 0, "still not fixed");
        assertEq(seedBlock, block.number + rounds.SEED_BLOCK_DELAY(), "re-armed ahead");
        assertEq(_drawSeed(bytes32(uint256(7))), epoch, "fixed from the new block");
        (seed, ) = selection.groupSeed(epoch);
        assertTrue(seed == keccak256(abi.encode(uint256(7), epoch)), "keccak(its prevrandao, epoch)");
        selection.drawGroupSeed(""); // a no-op once fixed
        (bytes32 again, ) = selection.groupSeed(epoch);
        assertTrue(again == seed, "fixed for the epoch");
    }

    /// A dormant address below the minimum before the seed, topped up after it, is no older stake than a new one.
    function test_aTopUpAfterTheSeedDoesNotCount() public {
        address dormant = vm.addr(0xD0A);
        _fundAndStake(dormant, 1e18); // below the fixture's minimum: not an active operator
        vm.roll(block.number + 5);
        uint256[GROUPS] memory roundIds = _openAll(bytes32(uint256(3)));
        uint256 epoch = selection.getDraws(roundIds[0]).groupEpoch;
        (bytes32 seed, ) = selection.groupSeed(epoch);
        uint256 drawn = uint256(keccak256(abi.encode(seed, parentTask, dormant))) % GROUPS;
        _fundAndStake(dormant, 1_000e18);
        vm.roll(block.number + 1);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.StakeNewerThanGroupSeed.selector, dormant, epoch));
        vm.prank(dormant);
        rounds.commitUpdate(roundIds[drawn], bytes32("topped"), 100);
    }

    /// A stake placed after the draw's first step (which fixes the seed block, whose prevrandao is known once
    /// its parent is out) does not count, though the seed is not fixed yet: the stake must predate the draw.
    function test_aStakeAfterTheDrawStartedDoesNotCount() public {
        uint256 epoch = selection.drawGroupSeed("");
        (, uint256 seedBlock) = selection.groupSeed(epoch);
        assertEq(seedBlock, block.number + rounds.SEED_BLOCK_DELAY(), "the seed block is ahead");
        vm.roll(block.number + 1); // the seed block's parent: its prevrandao is known from here on
        address late = vm.addr(0x1A7E);
        _fundAndStake(late, 1_000e18);
        selection.drawGroupSeed(RoundDriver.prepare(seedBlock, bytes32(uint256(5))));
        uint256[GROUPS] memory roundIds = _openAll(bytes32(uint256(5)));
        (bytes32 seed, ) = selection.groupSeed(epoch);
        uint256 drawn = uint256(keccak256(abi.encode(seed, parentTask, late))) % GROUPS;
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.StakeNewerThanGroupSeed.selector, late, epoch));
        vm.prank(late);
        rounds.commitUpdate(roundIds[drawn], bytes32("late"), 100);
    }

    /// A round the task opened before the creator linked it (a plain round then) drew nobody: after the link it
    /// takes no update, and its result is never a partial of the parent, whoever trained it.
    function test_aRoundOpenedBeforeTheLinkTakesNoUpdateAndIsNoPartial() public {
        uint256 late = rounds.createTask(_taskConfig(bytes32("late"), NUM_CHUNKS, REWARD, 60, 60, 120, 0));
        token.approve(address(rounds), 10 * REWARD);
        rounds.fundTask(late, 10 * REWARD);
        uint256 parentRound = rounds.openRound(parentTask);
        uint256 before = rounds.openRound(late);
        assertEq(selection.getDraws(before).groupEpoch, 0, "a plain round");
        vm.prank(t1);
        rounds.commitUpdate(before, bytes32("c1"), 100); // unlinked: anyone staked
        _link(late, parentTask);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotGroupMember.selector, t2, late));
        vm.prank(t2);
        rounds.commitUpdate(before, bytes32("c2"), 100);
        vm.warp(block.timestamp + 61);
        _onlyAgg(late);
        assertTrue(_select(before) == agg, "selected");
        uint256[] memory one = new uint256[](1);
        one[0] = 100;
        vm.prank(agg);
        rounds.postAggregate(before, bytes32("agg"), bytes32("data"), one);
        _answerSampleAndFinalize(before);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotGroupOf.selector, before, parentRound));
        vm.prank(agg);
        rounds.commitPartial(parentRound, before);
    }

    /// Three levels: an operator is drawn at each level by that level's parent; a member of a middle group is
    /// refused by the leaves of that middle it was not drawn into.
    function testFuzz_threeLevelsDrawAtEveryLevel(bytes32 mix, uint8 who) public {
        uint256 mid = rounds.createTask(_taskConfig(bytes32("mid"), NUM_CHUNKS, REWARD, 10_000, 60, 120, 0));
        uint256 leafA = rounds.createTask(_taskConfig(bytes32("la"), NUM_CHUNKS, REWARD, 60, 60, 120, 0));
        uint256 leafB = rounds.createTask(_taskConfig(bytes32("lb"), NUM_CHUNKS, REWARD, 60, 60, 120, 0));
        token.approve(address(rounds), 20 * REWARD);
        rounds.fundTask(leafA, 10 * REWARD);
        rounds.fundTask(leafB, 10 * REWARD);
        _link(leafA, mid);
        _link(leafB, mid);
        _link(mid, parentTask); // the parent's fifth group
        _drawSeed(mix);
        uint256 a = rounds.openRound(leafA);
        uint256 b = rounds.openRound(leafB);
        uint256 epoch = selection.getDraws(a).groupEpoch;
        address operator = pool[who % pool.length];
        bool inA = _drawnInto(operator, leafA, epoch);
        bool inB = _drawnInto(operator, leafB, epoch);
        assertTrue(!(inA && inB), "one leaf at most");
        (bytes32 seed, ) = selection.groupSeed(epoch);
        bool inMid = uint256(keccak256(abi.encode(seed, parentTask, operator))) % (GROUPS + 1) == GROUPS;
        assertTrue((inA || inB) == inMid, "a leaf of the middle iff drawn into the middle");
        uint256[2] memory ids = [a, b];
        bool[2] memory member = [inA, inB];
        uint256[2] memory tasks = [leafA, leafB];
        for (uint256 i; i < 2; ++i) {
            if (!member[i]) {
                vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotGroupMember.selector, operator, tasks[i]));
            }
            vm.prank(operator);
            rounds.commitUpdate(ids[i], bytes32("c"), 100);
        }
    }

    /// Churn does not gather sybils: each epoch draws every group anew, so the members of a group one epoch are
    /// spread over all groups the next (here: 32 operators, the group's members split over at least two groups).
    function test_eachEpochDrawsTheGroupsAnew() public {
        uint256[GROUPS] memory roundIds = _openAll(bytes32(uint256(1)));
        uint256 epoch = selection.getDraws(roundIds[0]).groupEpoch;
        address[] memory members = _members(roundIds[0], groups[0], 4);
        _nextEpoch();
        uint256 next = _drawSeed(bytes32(uint256(3)));
        assertEq(next, epoch + 1, "next epoch");
        (bytes32 fresh, ) = selection.groupSeed(next);
        bool[GROUPS] memory landed;
        uint256 spread;
        for (uint256 i; i < members.length; ++i) {
            uint256 g = uint256(keccak256(abi.encode(fresh, parentTask, members[i]))) % GROUPS;
            if (!landed[g]) ++spread;
            landed[g] = true;
        }
        assertTrue(spread > 1, "regrouped");
    }

    /// Makes `agg` the only candidate of `task`.
    function _onlyAgg(uint256 task) internal {
        _optInTo(agg, task);
    }
}
