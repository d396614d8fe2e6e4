// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {IRoundSelection} from "./interfaces/IRoundSelection.sol";
import {ITrainingRounds} from "./interfaces/ITrainingRounds.sol";
import {RoundsFixture} from "./test/RoundsFixture.sol";

/// @notice Issue #21, written as the attacker plays it: a sybil fills a large round with minimum-stake
/// identities at its opening so that every honest committer after it must take a slot in a full round. With a
/// scan of every slot for the least-staked one, each honest commit cost ~8.8k gas a trainer (8.85M at 1,000,
/// measured on a real chain by test/contracts/round-scale-gas.test.ts) or did not fit a transaction at all.
/// The honest committer's gas must not depend on the round's size, and it must still get in.
/// @dev Gas here is measured inside one test transaction, where storage touched earlier is warm: the figures
/// are a floor, and the bound is a regression guard (the old scan is ~3M here at 1,000). Whole-transaction
/// figures come from the mocha test above.
contract RoundEvictionTest is RoundsFixture {
    /// @notice Most gas an honest commit into a sybil-filled round may cost here, whatever its size: a plain
    /// commit plus reading EVICTION_SAMPLE stakes, with room to spare (a scan of 1,000 slots costs ~10x this).
    uint256 internal constant EVICTING_COMMIT_GAS_BOUND = 300_000;
    /// @notice How much more an evicting commit may cost at 1,000 trainers than at 32 (index arithmetic only).
    uint256 internal constant FLAT_TOLERANCE = 5_000;

    function setUp() public {
        _setUpRounds();
    }

    /// Sets the round cap to `cap`, stakes `cap` minimum-stake sybils (addresses from `base`), opens a round of
    /// the unproven task and fills it with them.
    function _sybilFilledRound(uint256 cap, uint160 base) internal returns (uint256 roundId, address[] memory sybils) {
        ITrainingRounds.Params memory p = _defaultParams();
        p.maxTrainersPerRound = uint32(cap);
        rounds.queueParams(p);
        vm.warp(block.timestamp + rounds.changeDelay());
        sybils = new address[](cap);
        for (uint256 i = 0; i < cap; ++i) {
            sybils[i] = address(base + uint160(i));
            _fundAndStake(sybils[i], MIN_STAKE);
        }
        vm.roll(block.number + 1); // the sybils' stakes are history when the round opens
        roundId = rounds.openRound(unprovenTaskId);
        for (uint256 i = 0; i < cap; ++i) {
            vm.prank(sybils[i]);
            rounds.commitUpdate(roundId, keccak256(abi.encode("sybil", i)), 1);
        }
    }

    /// Gas of `who`'s commit into `roundId` (a call of its own, measured around it).
    function _commitGas(uint256 roundId, address who, bytes32 commitment) internal returns (uint256 used) {
        vm.prank(who);
        uint256 before = gasleft();
        rounds.commitUpdate(roundId, commitment, 100);
        used = before - gasleft();
    }

    /// Fails with both figures in the message when `a` is not below `b`.
    function _assertBelow(uint256 a, uint256 b, string memory what) internal pure {
        assertTrue(a < b, string.concat(what, ": ", Strings.toString(a), " >= ", Strings.toString(b)));
    }

    function _indexOf(ITrainingRounds.Round memory r, address who) internal pure returns (uint256) {
        for (uint256 i = 0; i < r.trainers.length; ++i) if (r.trainers[i] == who) return i + 1;
        return 0;
    }

    /// Three honest trainers with more stake than the sybils commit into a full round of 1,000 sybils: each
    /// gets in, in place of a sybil, for the same gas as into a full round of 32, under the bound.
    function test_sybilFilledRoundCostsHonestCommittersFlatGas() public {
        uint256 snapshot = vm.snapshotState(); // one task, one active round: measure 32 first, then undo it
        (uint256 small, ) = _sybilFilledRound(32, 0x10000);
        uint256 smallGas = _commitGas(small, t1, keccak256(abi.encode("honest", 0)));
        vm.revertToState(snapshot);
        (uint256 large, address[] memory sybils) = _sybilFilledRound(1_000, 0x20000);
        address[3] memory honest = [t1, t2, t3];
        for (uint256 k = 0; k < 3; ++k) {
            uint256 gas = _commitGas(large, honest[k], keccak256(abi.encode("honest", k)));
            _assertBelow(gas, EVICTING_COMMIT_GAS_BOUND, "an evicting commit at 1,000 stays under the bound");
            _assertBelow(gas, smallGas + FLAT_TOLERANCE, "an evicting commit at 1,000 costs what it costs at 32");
        }
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(large);
        assertEq(r.trainers.length, 1_000, "still full");
        uint256 sybilsIn;
        for (uint256 i = 0; i < r.trainers.length; ++i) {
            if (r.trainers[i] >= address(0x20000) && r.trainers[i] < address(0x20000 + 1_000)) ++sybilsIn;
        }
        assertEq(sybilsIn, 997, "each honest commit took a sybil's slot");
        for (uint256 k = 0; k < 3; ++k) {
            uint256 at = _indexOf(r, honest[k]);
            assertTrue(at != 0, "honest trainer in");
            assertTrue(r.commitments[at - 1] == keccak256(abi.encode("honest", k)), "its own commitment at its slot");
            assertEq(r.sampleCounts[at - 1], 100, "and its sample count");
        }
        // Commitments follow their trainers after the swaps; an evicted sybil cannot come back with equal stake.
        for (uint256 i = 0; i < sybils.length; ++i) {
            uint256 at = _indexOf(r, sybils[i]);
            if (at == 0) {
                vm.prank(sybils[i]);
                vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.RoundFull.selector, 1_000));
                rounds.commitUpdate(large, bytes32("back"), 1);
            } else {
                assertTrue(r.commitments[at - 1] == keccak256(abi.encode("sybil", i)), "commitment follows its sybil");
            }
        }
    }

    /// A committer with no more stake than every slot it samples is turned away (`RoundFull`) for the same
    /// flat gas: a full round of equals admits nobody new, however large.
    function test_equalStakeCannotEvict() public {
        address equal = address(0xE0A1);
        _fundAndStake(equal, MIN_STAKE); // staked before the opening, like the sybils
        (uint256 roundId, ) = _sybilFilledRound(1_000, 0x30000);
        vm.prank(equal);
        vm.expectRevert(abi.encodeWithSelector(ITrainingRounds.RoundFull.selector, 1_000));
        rounds.commitUpdate(roundId, bytes32("equal"), 1);
    }
}
