// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";
import {StakeRegistry} from "./StakeRegistry.sol";
import {Fixture} from "./test/Fixture.sol";

/// @notice Stake history: `activeStakeAt` reads the end of any past block.
contract StakeRegistryCheckpointsTest is Fixture {
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    function setUp() public {
        _deploy();
        // A registry slashed by this test (the slasher is fixed once, so the fixture's cannot be re-pointed).
        registry = new StakeRegistry(IERC20(address(token)), address(this), MIN_STAKE, DELAY, REPORTER_BPS);
        registry.setSlasher(address(this));
    }

    function test_activeStakeAtReadsTheEndOfEachPastBlock() public {
        token.transfer(ALICE, 1_000e18);
        vm.prank(ALICE);
        token.approve(address(registry), type(uint256).max);
        uint256 start = block.number + 1;
        vm.roll(start);
        vm.prank(ALICE);
        registry.stake(300e18);
        // A later change in the same block overwrites: the block's value is its last one.
        vm.prank(ALICE);
        registry.requestUnstake(100e18);
        vm.roll(start + 2);
        vm.prank(ALICE);
        registry.stake(50e18);
        vm.roll(start + 3);
        registry.slash(ALICE, 60e18, 1, bytes32(0), address(0));
        vm.roll(start + 5);
        assertEq(registry.activeStakeAt(ALICE, start - 1), 0, "before the first stake");
        assertEq(registry.activeStakeAt(ALICE, start), 200e18, "end of the first block");
        assertEq(registry.activeStakeAt(ALICE, start + 1), 200e18, "carried over an empty block");
        assertEq(registry.activeStakeAt(ALICE, start + 2), 250e18, "top-up");
        assertEq(registry.activeStakeAt(ALICE, start + 3), 190e18, "slash");
        assertEq(registry.activeStakeAt(ALICE, start + 4), 190e18, "latest");
        assertEq(registry.activeStakeAt(BOB, start + 4), 0, "never staked");
    }

    function test_activeStakeAtRejectsBlocksNotOver() public {
        _fundAndStake(ALICE, MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(IStakeRegistry.FutureLookup.selector, block.number, block.number));
        registry.activeStakeAt(ALICE, block.number);
        vm.expectRevert(abi.encodeWithSelector(IStakeRegistry.FutureLookup.selector, block.number + 1, block.number));
        registry.activeStakeAt(ALICE, block.number + 1);
        vm.expectRevert(abi.encodeWithSelector(IStakeRegistry.FutureLookup.selector, type(uint256).max, block.number));
        registry.activeStakeAt(ALICE, type(uint256).max);
    }

    /// Fuzz: any sequence of stake / unstake / slash by two operators across blocks; every past block's lookup
    /// equals the stake recorded at the end of that block.
    function testFuzz_activeStakeAtMatchesHistory(uint256[12] calldata ops) public {
        address[2] memory who = [ALICE, BOB];
        for (uint256 k = 0; k < 2; k++) {
            token.transfer(who[k], 1e26);
            vm.prank(who[k]);
            token.approve(address(registry), type(uint256).max);
        }
        vm.roll(block.number + 1);
        uint256 start = block.number;
        uint256[][2] memory history;
        for (uint256 k = 0; k < 2; k++) history[k] = new uint256[](ops.length * 2 + 1);
        for (uint256 i = 0; i < ops.length; i++) {
            uint256 op = ops[i];
            address actor = who[op & 1];
            uint256 kind = (op >> 1) % 3;
            uint256 amount = (op >> 8) % 1e24;
            if (kind == 0) {
                vm.prank(actor);
                registry.stake(amount + 1);
            } else if (kind == 1) {
                uint256 active = registry.activeStake(actor);
                if (active != 0) {
                    vm.prank(actor);
                    registry.requestUnstake(1 + (amount % active));
                }
            } else {
                registry.slash(actor, amount, 1, bytes32(0), address(0));
            }
            uint256 advance = (op >> 4) % 3;
            uint256 index = block.number - start;
            for (uint256 j = index; j <= index + advance; j++) {
                history[0][j] = registry.activeStake(ALICE);
                history[1][j] = registry.activeStake(BOB);
            }
            vm.roll(block.number + advance);
        }
        uint256 last = block.number - start;
        vm.roll(block.number + 1);
        for (uint256 j = 0; j <= last; j++) {
            assertEq(registry.activeStakeAt(ALICE, start + j), history[0][j], "alice at block");
            assertEq(registry.activeStakeAt(BOB, start + j), history[1][j], "bob at block");
        }
        assertEq(registry.activeStakeAt(ALICE, start - 1), 0, "before start");
    }
}
