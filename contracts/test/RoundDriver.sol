// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IRoundSelection} from "../interfaces/IRoundSelection.sol";
import {TrainingRounds} from "../TrainingRounds.sol";
import {BlockHeaders} from "./BlockHeaders.sol";
import {Vm} from "./Vm.sol";

/// @notice Drives the two-step draws in Solidity tests: lock, move to the seed block, give it a header with
/// a chosen `prevrandao` (`vm.setBlockhash`), select or draw.
library RoundDriver {
    Vm internal constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @notice Locks the selection and selects with `mix` as the seed block's prevrandao; zero if the round
    /// closed instead (nobody committed, selection window over).
    function select(TrainingRounds rounds, uint256 roundId, bytes32 mix) internal returns (address) {
        IRoundSelection selection = IRoundSelection(address(rounds));
        address[] memory candidates = selection.aggregatorCandidates(selection.getRound(roundId).taskId);
        selection.lockSelection(roundId);
        uint64 seedBlock = IRoundSelection(address(rounds)).getDraws(roundId).seedBlock;
        if (seedBlock == 0) return address(0);
        return selectLocked(rounds, roundId, candidates, mix);
    }

    /// @notice Selects a locked round with `mix` as its seed block's prevrandao.
    function selectLocked(TrainingRounds rounds, uint256 roundId, address[] memory candidates, bytes32 mix)
        internal
        returns (address)
    {
        uint64 seedBlock = IRoundSelection(address(rounds)).getDraws(roundId).seedBlock;
        bytes memory header = prepare(seedBlock, mix);
        return IRoundSelection(address(rounds)).selectAggregator(roundId, candidates, header);
    }

    /// @notice Draws a posted round's samples with `mix` as the sample seed block's prevrandao (no-op if
    /// nothing is scheduled).
    function draw(TrainingRounds rounds, uint256 roundId, bytes32 mix) internal {
        uint64 seedBlock = IRoundSelection(address(rounds)).getDraws(roundId).sampleSeedBlock;
        if (seedBlock == 0 || IRoundSelection(address(rounds)).getDraws(roundId).samplesDrawn) return;
        IRoundSelection(address(rounds)).drawSamples(roundId, prepare(seedBlock, mix));
    }

    /// @notice Moves past `seedBlock` if needed and makes `mix` its prevrandao; returns its header.
    function prepare(uint256 seedBlock, bytes32 mix) internal returns (bytes memory header) {
        if (block.number <= seedBlock) VM.roll(seedBlock + 1);
        header = BlockHeaders.header(mix, seedBlock);
        VM.setBlockhash(seedBlock, keccak256(header));
    }
}
