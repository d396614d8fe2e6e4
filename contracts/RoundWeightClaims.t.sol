// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {RoundWeightClaims} from "./rounds/RoundWeightClaims.sol";
import {WeightSumTree} from "./rounds/WeightSumTree.sol";
import {WeightClaimsHarness} from "./test/WeightClaimsHarness.sol";
import {TestBase} from "./test/Vm.sol";

/// @notice Weight sum trees as an attacker builds them: claims never pay more than the round's pool whatever
/// the posted tree, each leaf pays once, and every lie about a trainer's weight is provable fraud.
contract RoundWeightClaimsTest is TestBase {
    WeightClaimsHarness internal h;
    uint256 internal constant ROUND = 7;
    uint256 internal constant POOL = 1_000e18;

    /// @dev A tree as its builder chose it: per level, each node's hash and the sum its parent hashes for it.
    struct Tree {
        bytes32[][] hashes;
        uint256[][] sums;
    }

    function setUp() public {
        h = new WeightClaimsHarness();
    }

    function _trainer(uint256 i) internal pure returns (address) {
        return address(uint160(0x7000 + i));
    }

    function _commit(uint256 n) internal {
        for (uint256 i = 0; i < n; ++i) {
            vm.prank(_trainer(i));
            h.commit(ROUND, bytes32(i), 100);
        }
    }

    /// @dev Builds a tree over `width` leaves (labels, trainers, weights per position); `lie[level][i]`, when
    /// non-zero, replaces the sum node i of that level reports to its parent by `lie - 1`.
    function _build(
        uint256[] memory labels,
        address[] memory who,
        uint256[] memory weights,
        uint256[][] memory lie
    ) internal pure returns (Tree memory t) {
        uint256 width = labels.length;
        uint256 depth;
        while ((1 << depth) < width) ++depth;
        t.hashes = new bytes32[][](depth + 1);
        t.sums = new uint256[][](depth + 1);
        t.hashes[0] = new bytes32[](width);
        t.sums[0] = new uint256[](width);
        for (uint256 i = 0; i < width; ++i) {
            t.hashes[0][i] = WeightSumTree.leaf(ROUND, labels[i], who[i], weights[i]);
            t.sums[0][i] = weights[i];
        }
        for (uint256 level = 0; level < depth; ++level) {
            uint256 w = width >> (level + 1);
            t.hashes[level + 1] = new bytes32[](w);
            t.sums[level + 1] = new uint256[](w);
            for (uint256 i = 0; i < w; ++i) {
                uint256 ls = t.sums[level][2 * i];
                uint256 rs = t.sums[level][2 * i + 1];
                t.hashes[level + 1][i] = WeightSumTree.node(t.hashes[level][2 * i], ls, t.hashes[level][2 * i + 1], rs);
                t.sums[level + 1][i] = ls + rs;
            }
            if (lie.length > level + 1) {
                for (uint256 i = 0; i < w && i < lie[level + 1].length; ++i) {
                    if (lie[level + 1][i] != 0) t.sums[level + 1][i] = lie[level + 1][i] - 1;
                }
            }
        }
    }

    function _path(Tree memory t, uint256 position) internal pure returns (WeightSumTree.Sibling[] memory p) {
        uint256 depth = t.hashes.length - 1;
        p = new WeightSumTree.Sibling[](depth);
        for (uint256 level = 0; level < depth; ++level) {
            uint256 s = position ^ 1;
            p[level] = WeightSumTree.Sibling(t.hashes[level][s], t.sums[level][s]);
            position >>= 1;
        }
    }

    function _root(Tree memory t) internal pure returns (bytes32, uint256) {
        uint256 d = t.hashes.length - 1;
        return (t.hashes[d][0], t.sums[d][0]);
    }

    function _honest(uint256 n, uint256 width, uint256[] memory w) internal pure returns (Tree memory) {
        uint256[] memory labels = new uint256[](width);
        address[] memory who = new address[](width);
        uint256[] memory weights = new uint256[](width);
        for (uint256 i = 0; i < width; ++i) {
            labels[i] = i;
            if (i < n) (who[i], weights[i]) = (_trainer(i), w[i]);
        }
        return _build(labels, who, weights, new uint256[][](0));
    }

    function test_honestRoundPaysEachTrainerItsShareExactly() public {
        _commit(5);
        uint256[] memory w = new uint256[](5);
        (w[0], w[1], w[2], w[3], w[4]) = (100, 30, 0, 70, 33);
        Tree memory t = _honest(5, 8, w);
        (bytes32 root, uint256 total) = _root(t);
        assertEq(total, 233, "total");
        h.postWeights(ROUND, root, total);
        h.close(ROUND, POOL, uint64(block.timestamp + 1 days));
        uint256 paid;
        for (uint256 i = 0; i < 5; ++i) {
            if (w[i] == 0) continue;
            vm.prank(_trainer(i));
            uint256 share = h.claim(ROUND, i, w[i], _path(t, i));
            assertEq(share, (POOL * w[i]) / total, "share");
            paid += share;
        }
        vm.warp(block.timestamp + 1 days + 1);
        uint256 returned = h.sweep(ROUND);
        assertEq(paid + returned, POOL, "pool = paid + returned");
        assertEq(h.totalCredited(), paid, "credited");
    }

    function test_eachLeafPaysOnceAndOnlyItsTrainer() public {
        _commit(4);
        uint256[] memory w = new uint256[](4);
        (w[0], w[1], w[2], w[3]) = (10, 20, 30, 40);
        Tree memory t = _honest(4, 4, w);
        (bytes32 root, uint256 total) = _root(t);
        h.postWeights(ROUND, root, total);
        WeightSumTree.Sibling[] memory p = _path(t, 1);
        vm.prank(_trainer(1));
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.ClaimsNotOpen.selector, ROUND));
        h.claim(ROUND, 1, 20, p); // the round has not closed
        h.close(ROUND, POOL, uint64(block.timestamp + 100));
        vm.prank(_trainer(2));
        vm.expectRevert(abi.encodeWithSelector(WeightClaimsHarness.NotTrainerAt.selector, 1));
        h.claim(ROUND, 1, 20, p); // someone else's leaf
        vm.prank(_trainer(1));
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.NotInWeightTree.selector, ROUND, 1));
        h.claim(ROUND, 1, 21, p); // a weight the tree does not hold
        vm.prank(_trainer(1));
        h.claim(ROUND, 1, 20, p);
        vm.prank(_trainer(1));
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.AlreadyClaimed.selector, ROUND, 1));
        h.claim(ROUND, 1, 20, p);
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.ClaimWindow.selector, uint64(block.timestamp + 100)));
        h.sweep(ROUND);
        vm.warp(block.timestamp + 101);
        vm.prank(_trainer(2));
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.ClaimWindow.selector, uint64(block.timestamp - 1)));
        h.claim(ROUND, 2, 30, _path(t, 2)); // too late: the rest goes back
        assertEq(h.sweep(ROUND), POOL - (POOL * 20) / 100, "returned");
    }

    function test_zeroRootTotalAndWeightAreRefused() public {
        _commit(2);
        uint256[] memory w = new uint256[](2);
        (w[0], w[1]) = (0, 40);
        Tree memory t = _honest(2, 2, w);
        (bytes32 root, uint256 total) = _root(t);
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.InvalidWeightsRoot.selector, ROUND));
        h.postWeights(ROUND, bytes32(0), total);
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.InvalidWeightsRoot.selector, ROUND));
        h.postWeights(ROUND, root, 0);
        h.postWeights(ROUND, root, total);
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.WeightsAlreadyPosted.selector, ROUND));
        h.postWeights(ROUND, root, total);
        h.close(ROUND, POOL, uint64(block.timestamp + 100));
        vm.prank(_trainer(0));
        vm.expectRevert(abi.encodeWithSelector(RoundWeightClaims.ZeroWeight.selector, ROUND, 0));
        h.claim(ROUND, 0, 0, _path(t, 0)); // a rejected trainer's leaf pays nothing
        vm.prank(_trainer(1));
        assertEq(h.claim(ROUND, 1, 40, _path(t, 1)), POOL, "the only weight takes the pool");
    }

    function test_indexMustFitTheOpeningsDepth() public {
        _commit(4);
        uint256[] memory w = new uint256[](4);
        (w[0], w[1], w[2], w[3]) = (10, 20, 30, 40);
        Tree memory t = _honest(4, 4, w);
        (bytes32 root, uint256 total) = _root(t);
        h.postWeights(ROUND, root, total);
        h.close(ROUND, POOL, uint64(block.timestamp + 100));
        vm.expectRevert(abi.encodeWithSelector(WeightSumTree.InvalidOpening.selector, 5, 2));
        h.isWeightFraud(ROUND, 5, _trainer(1), 20, _path(t, 1));
    }

    /// Every lie about a weight is one leaf's opening: another trainer at a committed index, a weight above the
    /// committed sample count, weight on a padding leaf. Honest leaves (and zero weights) are never fraud.
    function test_weightLiesAreProvableFraud() public {
        _commit(3);
        uint256[] memory labels = new uint256[](4);
        address[] memory who = new address[](4);
        uint256[] memory weights = new uint256[](4);
        (labels[0], who[0], weights[0]) = (0, _trainer(0), 100); // honest, at the cap
        (labels[1], who[1], weights[1]) = (1, address(0xBAD), 50); // someone else's slot
        (labels[2], who[2], weights[2]) = (2, _trainer(2), 101); // above its 100 samples
        (labels[3], who[3], weights[3]) = (3, address(0xBAD), 7); // weight past the last trainer
        Tree memory t = _build(labels, who, weights, new uint256[][](0));
        (bytes32 root, uint256 total) = _root(t);
        h.postWeights(ROUND, root, total);
        assertTrue(!h.isWeightFraud(ROUND, 0, _trainer(0), 100, _path(t, 0)), "honest leaf");
        assertTrue(h.isWeightFraud(ROUND, 1, address(0xBAD), 50, _path(t, 1)), "wrong trainer");
        assertTrue(h.isWeightFraud(ROUND, 2, _trainer(2), 101, _path(t, 2)), "above samples");
        assertTrue(h.isWeightFraud(ROUND, 3, address(0xBAD), 7, _path(t, 3)), "padding weight");
        assertTrue(!h.isWeightFraud(ROUND, 2, _trainer(2), 100, _path(t, 2)), "not a leaf: no proof of fraud");
    }

    /// The attacker builds any tree it likes (labels duplicated or moved, weights up to the cap, sums its
    /// parents hash chosen freely) and posts any total; every opening anyone can make is tried. What is paid
    /// never exceeds the pool.
    function testFuzz_noTreePaysMoreThanThePool(
        uint256[8] calldata labelSeed,
        uint8[8] calldata weightSeed,
        uint16[6] calldata lieSeed,
        uint256 totalSeed
    ) public {
        _commit(8);
        uint256[] memory labels = new uint256[](8);
        address[] memory who = new address[](8);
        uint256[] memory weights = new uint256[](8);
        for (uint256 i = 0; i < 8; ++i) {
            labels[i] = labelSeed[i] % 8;
            who[i] = _trainer(labels[i]);
            weights[i] = weightSeed[i] % 101;
        }
        uint256[][] memory lie = new uint256[][](3);
        lie[1] = new uint256[](4);
        lie[2] = new uint256[](2);
        for (uint256 i = 0; i < 4; ++i) lie[1][i] = lieSeed[i] % 3 == 0 ? 1 + (lieSeed[i] % 250) : 0;
        for (uint256 i = 0; i < 2; ++i) lie[2][i] = lieSeed[4 + i] % 3 == 0 ? 1 + (lieSeed[4 + i] % 500) : 0;
        Tree memory t = _build(labels, who, weights, lie);
        (bytes32 root, uint256 total) = _root(t);
        if (totalSeed % 2 == 0) total = totalSeed;
        total = bound(total, 1, 800); // postWeights refuses more than the committed samples
        h.postWeights(ROUND, root, total);
        h.close(ROUND, POOL, uint64(block.timestamp + 100));
        for (uint256 p = 0; p < 8; ++p) {
            vm.prank(who[p]);
            try h.claim(ROUND, labels[p], weights[p], _path(t, p)) returns (uint256) {} catch {}
        }
        assertTrue(h.totalCredited() <= POOL, "claims exceed the pool");
        vm.warp(block.timestamp + 101);
        assertEq(h.totalCredited() + h.sweep(ROUND), POOL, "pool = paid + returned");
    }
}
