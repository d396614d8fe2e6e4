// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IAggregationVerifier} from "../interfaces/IAggregationVerifier.sol";
import {IRoundSelection} from "../interfaces/IRoundSelection.sol";
import {IStakeRegistry} from "../interfaces/IStakeRegistry.sol";
import {ITrainingRounds} from "../interfaces/ITrainingRounds.sol";
import {StakeRegistry} from "../StakeRegistry.sol";
import {TrainingRounds} from "../TrainingRounds.sol";
import {VainToken} from "../VainToken.sol";
import {TestAggregationVerifier} from "./TestAggregationVerifier.sol";
import {TestBase} from "./Vm.sol";

/// @notice Deploys the protocol with test parameters; the test contract is owner and treasury.
abstract contract Fixture is TestBase {
    uint256 internal constant MIN_STAKE = 100e18;
    uint256 internal constant DELAY = 2 days;
    uint256 internal constant REPORTER_BPS = 1_000;
    /// @dev Fixture tasks emit 1,000 per round: the bond floor (emission / 8) is 125.
    uint256 internal constant BOND = 125e18;
    uint64 internal constant ANSWER_WINDOW = 600;
    /// @dev Shorter than the answer window on purpose: tests tell the two apart.
    uint64 internal constant DISPUTE_WINDOW = 120;

    VainToken internal token;
    StakeRegistry internal registry;
    TrainingRounds internal rounds;
    /// @dev `rounds` seen through IRoundSelection (candidates and selection, served by its extension).
    IRoundSelection internal selection;
    TestAggregationVerifier internal verifier;

    function _deploy() internal {
        token = new VainToken(address(this), 1_000_000_000e18, 2_000_000_000e18);
        registry = new StakeRegistry(IERC20(address(token)), address(this), MIN_STAKE, DELAY, REPORTER_BPS);
        verifier = new TestAggregationVerifier();
        rounds = new TrainingRounds(
            IERC20(address(token)),
            IStakeRegistry(address(registry)),
            IAggregationVerifier(address(verifier)),
            address(this),
            _defaultParams()
        );
        selection = IRoundSelection(address(rounds));
        registry.setSlasher(address(rounds));
    }

    function _defaultParams() internal pure returns (ITrainingRounds.Params memory) {
        return
            ITrainingRounds.Params({
                maxTrainersPerRound: 16,
                maxSamplesPerTrainer: 10_000,
                aggregatorRewardBps: 1_000,
                aggregatorSlashBps: 5_000,
                trainerSlashBps: 1_000,
                sampledChunks: 1,
                challengeBond: BOND
            });
    }

    /// @dev A task config with the fixture's defaults: proven, rule 0, a 600 s answer window, a 120 s dispute window.
    function _taskConfig(
        bytes32 modelRef,
        uint32 numChunks,
        uint256 rewardPerRound,
        uint64 commitWindow,
        uint64 aggregateWindow,
        uint64 challengeWindow,
        uint64 roundInterval
    ) internal pure returns (ITrainingRounds.TaskConfig memory) {
        return
            ITrainingRounds.TaskConfig({
                modelRef: modelRef,
                specHash: keccak256(abi.encode(modelRef)),
                numChunks: numChunks,
                ruleId: 0,
                proven: true,
                rewardPerRound: rewardPerRound,
                commitWindow: commitWindow,
                aggregateWindow: aggregateWindow,
                challengeWindow: challengeWindow,
                answerWindow: ANSWER_WINDOW,
                disputeWindow: DISPUTE_WINDOW,
                roundInterval: roundInterval
            });
    }

    /// @dev Past both the challenge and the dispute deadline (the dispute window may end before the challenge
    /// window, which it does not extend).
    function _warpPastJudgement(uint256 roundId) internal {
        ITrainingRounds.Round memory r = IRoundSelection(address(rounds)).getRound(roundId);
        uint64 last = r.challengeDeadline > r.disputeDeadline ? r.challengeDeadline : r.disputeDeadline;
        if (block.timestamp <= last) vm.warp(last + 1);
    }

    function _fundAndStake(address who, uint256 amount) internal {
        token.transfer(who, amount);
        vm.startPrank(who);
        token.approve(address(registry), amount);
        registry.stake(amount);
        vm.stopPrank();
    }
}
