// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IRoundSelection} from "./interfaces/IRoundSelection.sol";
import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {RoundClaimsExtension} from "./rounds/RoundClaimsExtension.sol";
import {RoundWeightClaims} from "./rounds/RoundWeightClaims.sol";
import {WeightSumTree} from "./rounds/WeightSumTree.sol";
import {TestLinkVerifier} from "./test/TestLinkVerifier.sol";
import {RoundsFixture} from "./test/RoundsFixture.sol";

/// @notice Issue #21 on the real TrainingRounds: a round above MAX_WEIGHTS_ARRAY (16) trainers posts a weight
/// sum tree root and each trainer claims its share with an opening. Written as the aggregator and its sybils
/// would attack: a leaf naming someone else, a weight above the committed sample count, a total that lies,
/// padding leaves with weight, a double claim, an array post; and the conservation of every token throughout.
contract RoundWeightRootsTest is RoundsFixture {
    uint256 internal constant TRAINERS = 20;
    /// @dev The tree's width: TRAINERS padded to a power of two.
    uint256 internal constant WIDTH = 32;
    RoundClaimsExtension internal claims;
    address[] internal trainers;

    struct Tree {
        bytes32[][] hashes;
        uint256[][] sums;
    }

    function setUp() public {
        _setUpRounds();
        claims = RoundClaimsExtension(address(rounds));
        ITrainingRounds.Params memory p = _defaultParams();
        p.maxTrainersPerRound = 64;
        rounds.queueParams(p);
        vm.warp(block.timestamp + rounds.changeDelay());
        for (uint256 i = 0; i < TRAINERS; ++i) {
            address trainer = address(uint160(0xD000 + i));
            _fundAndStake(trainer, 100e18);
            trainers.push(trainer);
        }
        vm.roll(block.number + 1);
    }

    /// Opens an unproven round, commits every trainer with 100 samples, selects `agg`.
    function _commitAll() internal returns (uint256 roundId) {
        roundId = rounds.openRound(unprovenTaskId);
        for (uint256 i = 0; i < TRAINERS; ++i) {
            vm.prank(trainers[i]);
            rounds.commitUpdate(roundId, keccak256(abi.encode(i)), 100);
        }
        vm.warp(block.timestamp + 61);
        assertTrue(_select(roundId) == agg, "selected");
    }

    function _tree(uint256 roundId, address[] memory who, uint256[] memory weights) internal pure returns (Tree memory t) {
        uint256 depth;
        while ((1 << depth) < who.length) ++depth;
        t.hashes = new bytes32[][](depth + 1);
        t.sums = new uint256[][](depth + 1);
        t.hashes[0] = new bytes32[](who.length);
        t.sums[0] = new uint256[](who.length);
        for (uint256 i = 0; i < who.length; ++i) {
            t.hashes[0][i] = WeightSumTree.leaf(roundId, i, who[i], weights[i]);
            t.sums[0][i] = weights[i];
        }
        for (uint256 level = 0; level < depth; ++level) {
            uint256 w = who.length >> (level + 1);
            t.hashes[level + 1] = new bytes32[](w);
            t.sums[level + 1] = new uint256[](w);
            for (uint256 i = 0; i < w; ++i) {
                (uint256 ls, uint256 rs) = (t.sums[level][2 * i], t.sums[level][2 * i + 1]);
                t.hashes[level + 1][i] = WeightSumTree.node(t.hashes[level][2 * i], ls, t.hashes[level][2 * i + 1], rs);
                t.sums[level + 1][i] = ls + rs;
            }
        }
    }

    function _path(Tree memory t, uint256 index) internal pure returns (WeightSumTree.Sibling[] memory p) {
        uint256 depth = t.hashes.length - 1;
        p = new WeightSumTree.Sibling[](depth);
        for (uint256 level = 0; level < depth; ++level) {
            uint256 s = (index >> level) ^ 1;
            p[level] = WeightSumTree.Sibling(t.hashes[level][s], t.sums[level][s]);
        }
    }

    function _root(Tree memory t) internal pure returns (bytes32, uint256) {
        return (t.hashes[t.hashes.length - 1][0], t.sums[t.sums.length - 1][0]);
    }

    /// The honest tree: every trainer at its commit index with `weight`, padding (address(0), 0).
    function _honest(uint256 weight) internal view returns (address[] memory who, uint256[] memory weights) {
        who = new address[](WIDTH);
        weights = new uint256[](WIDTH);
        for (uint256 i = 0; i < TRAINERS; ++i) (who[i], weights[i]) = (trainers[i], weight);
    }

    function _postRoot(uint256 roundId, Tree memory t, uint256 totalWeight) internal {
        (bytes32 root, ) = _root(t);
        vm.startPrank(agg);
        claims.postWeightsRoot(roundId, root, totalWeight, "");
        rounds.postAggregate(roundId, bytes32("agg"), bytes32("data"), new uint256[](0));
        vm.stopPrank();
    }

    function _finalize(uint256 roundId) internal {
        _warpPastJudgement(roundId);
        rounds.finalizeRound(roundId);
    }

    /// Every token: the contract holds exactly the pools, the reserved emissions, credits, bonds and claims.
    function _assertSolvent() internal view {
        (, uint256 unclaimed, uint256 bonds) = rounds.totals();
        assertEq(token.balanceOf(address(rounds)), _pools() + unclaimed + bonds + claims.claimsHeld(), "solvent");
    }

    function test_honestRoundPaysEveryTrainerExactlyOnceAndSweepsTheRest() public {
        uint256 roundId = _commitAll();
        (address[] memory who, uint256[] memory weights) = _honest(100);
        weights[3] = 0; // rejected: earns nothing
        weights[7] = 40; // partly accepted
        Tree memory t = _tree(roundId, who, weights);
        (, uint256 total) = _root(t);
        _postRoot(roundId, t, total);
        _finalize(roundId);
        assertEq(uint8(selection.getRound(roundId).state), uint8(ITrainingRounds.RoundState.Finalized), "finalized");
        (, , uint256 pool, , bool funded, ) = claims.weightClaims(roundId);
        assertTrue(funded, "funded at close");
        assertEq(pool, REWARD - REWARD / 10, "trainers' pool: emission less the aggregator's 10%");
        _assertSolvent();
        uint256 paid;
        for (uint256 i = 0; i < TRAINERS; ++i) {
            if (weights[i] == 0) continue;
            uint256 before = token.balanceOf(trainers[i]);
            vm.prank(address(0xBEEF)); // anyone may claim for a trainer: the tokens go to the trainer
            uint256 share = claims.claimTrainerShare(roundId, i, weights[i], _path(t, i));
            assertEq(share, (pool * weights[i]) / total, "share by weight");
            assertEq(token.balanceOf(trainers[i]) - before, share, "paid to the trainer");
            paid += share;
        }
        _assertSolvent();
        // Double claim.
        WeightSumTree.Sibling[] memory p0 = _path(t, 0);
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.AlreadyClaimed.selector, roundId, 0));
        claims.claimTrainerShare(roundId, 0, 100, p0);
        // A weight-0 leaf earns nothing.
        WeightSumTree.Sibling[] memory p3 = _path(t, 3);
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.ZeroWeight.selector, roundId, 3));
        claims.claimTrainerShare(roundId, 3, 0, p3);
        // Sweep only after the claim window; then the floor dust returns to the task's pool.
        vm.expectRevert();
        claims.sweepClaims(roundId);
        vm.warp(block.timestamp + rounds.CLAIM_WINDOW() + 1);
        uint256 poolBefore = selection.getTask(unprovenTaskId).rewardPool;
        uint256 returned = claims.sweepClaims(roundId);
        assertEq(returned, pool - paid, "pool = paid + returned");
        assertEq(selection.getTask(unprovenTaskId).rewardPool - poolBefore, returned, "back to the task");
        assertEq(claims.claimsHeld(), 0, "nothing held");
        _assertSolvent();
    }

    function test_leafNamingAnotherTrainerOrTheAggregatorPaysNobody() public {
        uint256 roundId = _commitAll();
        (address[] memory who, uint256[] memory weights) = _honest(100);
        who[5] = agg; // the aggregator takes trainer 5's index for itself
        who[6] = trainers[9]; // and gives trainer 9 a second leaf at index 6
        Tree memory t = _tree(roundId, who, weights);
        (, uint256 total) = _root(t);
        _postRoot(roundId, t, total);
        _finalize(roundId);
        WeightSumTree.Sibling[] memory p5 = _path(t, 5);
        WeightSumTree.Sibling[] memory p6 = _path(t, 6);
        // A claim always pays whoever committed at the index: the leaf must name it.
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.NotInWeightTree.selector, roundId, 5));
        claims.claimTrainerShare(roundId, 5, 100, p5);
        vm.prank(trainers[9]);
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.NotInWeightTree.selector, roundId, 6));
        claims.claimTrainerShare(roundId, 6, 100, p6);
        uint256 aggBefore = token.balanceOf(agg);
        assertEq(token.balanceOf(agg), aggBefore, "the aggregator got nothing from the lie");
        // Trainer 9 is paid once, at its own index.
        claims.claimTrainerShare(roundId, 9, 100, _path(t, 9));
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.AlreadyClaimed.selector, roundId, 9));
        claims.claimTrainerShare(roundId, 9, 100, _path(t, 9));
        _assertSolvent();
    }

    function test_weightAboveCommittedSamplesAndPaddingWeightCannotBeClaimed() public {
        uint256 roundId = _commitAll();
        (address[] memory who, uint256[] memory weights) = _honest(100);
        weights[2] = 5_000; // trainer 2 (a sybil) committed 100 samples
        weights[25] = 900; // a padding leaf past the last trainer
        who[25] = agg;
        Tree memory t = _tree(roundId, who, weights);
        (, uint256 total) = _root(t);
        _postRoot(roundId, t, total);
        _finalize(roundId);
        WeightSumTree.Sibling[] memory p2 = _path(t, 2);
        WeightSumTree.Sibling[] memory p25 = _path(t, 25);
        vm.expectRevert(abi.encodeWithSelector(RoundClaimsExtension.WeightAboveSamples.selector, roundId, 2));
        claims.claimTrainerShare(roundId, 2, 5_000, p2);
        vm.expectRevert(abi.encodeWithSelector(RoundClaimsExtension.NotTrainerAt.selector, roundId, 25));
        claims.claimTrainerShare(roundId, 25, 900, p25);
        // The inflated total only thins the honest shares; the thinned part returns to the pool at the sweep.
        (, , uint256 pool, , , ) = claims.weightClaims(roundId);
        uint256 share = claims.claimTrainerShare(roundId, 0, 100, _path(t, 0));
        assertEq(share, (pool * 100) / total, "share of the posted total");
        _assertSolvent();
    }

    function test_totalThatLiesPaysNobodyAndEverythingReturns() public {
        uint256 roundId = _commitAll();
        (address[] memory who, uint256[] memory weights) = _honest(100);
        Tree memory t = _tree(roundId, who, weights);
        (, uint256 total) = _root(t);
        _postRoot(roundId, t, total / 2); // claims to the posted total would pay out the pool twice
        _finalize(roundId);
        for (uint256 i = 0; i < 3; ++i) {
            WeightSumTree.Sibling[] memory p = _path(t, i);
            vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.NotInWeightTree.selector, roundId, i));
            claims.claimTrainerShare(roundId, i, 100, p);
        }
        (, , uint256 pool, , , ) = claims.weightClaims(roundId);
        vm.warp(block.timestamp + rounds.CLAIM_WINDOW() + 1);
        assertEq(claims.sweepClaims(roundId), pool, "the whole trainers' pool returns");
        _assertSolvent();
    }

    function test_postingRules() public {
        uint256 roundId = _commitAll();
        (address[] memory who, uint256[] memory weights) = _honest(100);
        Tree memory t = _tree(roundId, who, weights);
        (bytes32 root, uint256 total) = _root(t);
        // Above 16 trainers: no weights array.
        vm.prank(agg);
        vm.expectRevert(ITrainingRounds.InvalidWeights.selector);
        rounds.postAggregate(roundId, bytes32("agg"), bytes32("data"), new uint256[](TRAINERS));
        vm.prank(trainers[0]);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.NotAggregator.selector, trainers[0]));
        claims.postWeightsRoot(roundId, root, total, "");
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.InvalidWeightsRoot.selector, roundId));
        claims.postWeightsRoot(roundId, bytes32(0), total, "");
        vm.startPrank(agg);
        claims.postWeightsRoot(roundId, bytes32("an earlier tree"), total + 1, "");
        claims.postWeightsRoot(roundId, root, total, ""); // replaceable until the aggregate is posted
        rounds.postAggregate(roundId, bytes32("agg"), bytes32("data"), new uint256[](0));
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.WrongState.selector, roundId, ITrainingRounds.RoundState.Challenging));
        claims.postWeightsRoot(roundId, root, total + 1, "");
        vm.stopPrank();
        (bytes32 posted, uint256 postedTotal, , , , ) = claims.weightClaims(roundId);
        assertTrue(posted == root && postedTotal == total, "the last root before the post stands");
        // A small round posts its array, never a root.
        uint256 small = rounds.openRound(taskId);
        vm.prank(t1);
        rounds.commitUpdate(small, bytes32("c1"), 100);
        vm.warp(block.timestamp + 61);
        _select(small);
        vm.prank(selection.getRound(small).aggregator);
        vm.expectRevert(ITrainingRounds.InvalidWeights.selector);
        claims.postWeightsRoot(small, root, total, "");
    }

    /// A missed aggregator's root does not outlive its duty: the takeover clears it, so a backup that received
    /// nothing and posts no root fails the round unpaid instead of paying by leaves it never saw.
    function test_takeoverClearsTheMissedAggregatorsRoot() public {
        uint256 roundId = _commitAll();
        (address[] memory who, uint256[] memory weights) = _honest(100);
        (bytes32 root, uint256 total) = _root(_tree(roundId, who, weights));
        vm.prank(agg);
        claims.postWeightsRoot(roundId, root, total, "");
        vm.warp(selection.getRound(roundId).aggregateDeadline + 1);
        rounds.reportMissedAggregation(roundId);
        address backup = selection.getRound(roundId).aggregator;
        assertTrue(backup != agg, "the backup took over");
        (bytes32 kept, , , , , ) = claims.weightClaims(roundId);
        assertTrue(kept == bytes32(0), "the missed aggregator's root is gone");
        uint256 poolsBefore = _pools();
        vm.prank(backup);
        rounds.postAggregate(roundId, bytes32("agg"), bytes32("data"), new uint256[](0));
        assertEq(uint8(selection.getRound(roundId).state), uint8(ITrainingRounds.RoundState.Failed), "failed");
        assertEq(_pools() - poolsBefore, REWARD, "the emission returns");
        _assertSolvent();
    }

    function test_noRootFailsTheRoundUnpaid() public {
        uint256 roundId = _commitAll();
        uint256 poolsBefore = _pools();
        vm.prank(agg);
        rounds.postAggregate(roundId, bytes32("agg"), bytes32("data"), new uint256[](0));
        assertEq(uint8(selection.getRound(roundId).state), uint8(ITrainingRounds.RoundState.Failed), "failed");
        assertEq(_pools() - poolsBefore, REWARD, "the emission returns");
        (, , , , bool funded, ) = claims.weightClaims(roundId);
        assertTrue(!funded, "no claims");
        _assertSolvent();
    }

    function test_provenRoundStaysWithinTheWeightsArray() public {
        verifier.setLinkVerifier(new TestLinkVerifier());
        uint256 roundId = rounds.openRound(taskId);
        for (uint256 i = 0; i < 16; ++i) {
            vm.prank(trainers[i]);
            rounds.commitUpdate(roundId, keccak256(abi.encode(i)), 100);
        }
        // A 17th trainer with no more stake than the least-staked one: the proven round is full at 16.
        vm.prank(trainers[16]);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.RoundFull.selector, 16));
        rounds.commitUpdate(roundId, bytes32("17"), 100);
        assertEq(IRoundSelection(address(rounds)).getRound(roundId).trainers.length, 16, "16 trainers");
    }

    /// Evictions in a round above EVICTION_SAMPLE slots (sampled) keep claims exact: richer trainers take two
    /// slots of a full round, commitments and sample counts move with their trainers, every trainer left in
    /// the round claims at its final index, the evicted are paid nothing, and pool = paid + returned.
    function test_evictionsKeepClaimsExact() public {
        uint256 cap = 18; // above RoundsExtension.EVICTION_SAMPLE (16): the slot taken is drawn
        ITrainingRounds.Params memory p = _defaultParams();
        p.maxTrainersPerRound = uint32(cap);
        rounds.queueParams(p);
        vm.warp(block.timestamp + rounds.changeDelay());
        uint256 roundId = rounds.openRound(unprovenTaskId);
        for (uint256 i = 0; i < cap; ++i) {
            vm.prank(trainers[i]); // 100 staked each, the minimum
            rounds.commitUpdate(roundId, keccak256(abi.encode(i)), 10 + i);
        }
        vm.prank(t1); // 200 staked
        rounds.commitUpdate(roundId, bytes32("t1"), 100);
        vm.prank(t2);
        rounds.commitUpdate(roundId, bytes32("t2"), 100);
        vm.warp(block.timestamp + 61);
        assertTrue(_select(roundId) == agg, "selected");
        ITrainingRounds.Round memory r = selection.getRound(roundId);
        assertEq(r.trainers.length, cap, "full");
        address[] memory who = new address[](WIDTH);
        uint256[] memory weights = new uint256[](WIDTH);
        uint256 evicted;
        for (uint256 i = 0; i < cap; ++i) {
            (who[i], weights[i]) = (r.trainers[i], r.sampleCounts[i]);
            if (r.trainers[i] == t1 || r.trainers[i] == t2) continue;
            uint256 k = uint160(r.trainers[i]) - 0xD000;
            assertTrue(r.commitments[i] == keccak256(abi.encode(k)), "commitment follows its trainer");
            assertEq(r.sampleCounts[i], 10 + k, "sample count follows its trainer");
        }
        Tree memory t = _tree(roundId, who, weights);
        (, uint256 total) = _root(t);
        _postRoot(roundId, t, total);
        _finalize(roundId);
        (, , uint256 pool, , , ) = claims.weightClaims(roundId);
        uint256[] memory before = new uint256[](cap);
        for (uint256 i = 0; i < cap; ++i) before[i] = token.balanceOf(trainers[i]);
        uint256 paid;
        for (uint256 i = 0; i < cap; ++i) paid += claims.claimTrainerShare(roundId, i, weights[i], _path(t, i));
        for (uint256 i = 0; i < cap; ++i) {
            bool inRound;
            for (uint256 j = 0; j < cap; ++j) if (r.trainers[j] == trainers[i]) inRound = true;
            if (!inRound) {
                ++evicted;
                assertEq(token.balanceOf(trainers[i]), before[i], "an evicted trainer is paid nothing");
            }
        }
        assertEq(evicted, 2, "two slots taken");
        vm.warp(block.timestamp + rounds.CLAIM_WINDOW() + 1);
        assertEq(paid + claims.sweepClaims(roundId), pool, "pool = paid + returned");
        _assertSolvent();
    }
}
