// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";
import {StakeRegistry} from "./StakeRegistry.sol";
import {VainToken} from "./VainToken.sol";
import {Fixture} from "./test/Fixture.sol";
import {TestBase} from "./test/Vm.sol";

contract StakeRegistryTest is Fixture {
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    bytes internal constant PEER_A = hex"0024080112200102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
    bytes internal constant PEER_B = hex"0024080112201102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

    function setUp() public {
        _deploy();
    }

    function test_tokenCapAndTreasury() public view {
        assertEq(token.cap(), 2_000_000_000e18, "cap");
        assertEq(token.balanceOf(address(this)), 1_000_000_000e18, "treasury");
    }

    function test_tokenRejectsZeroTreasuryAndOverCap() public {
        vm.expectRevert(VainToken.VainTokenZeroTreasury.selector);
        new VainToken(address(0), 1, 2);
        vm.expectRevert();
        new VainToken(address(this), 3, 2);
    }

    function test_stakeAndActive() public {
        _fundAndStake(ALICE, MIN_STAKE);
        vm.prank(ALICE);
        registry.bindPeerId(PEER_A);
        assertTrue(registry.isActive(PEER_A), "active");
        assertTrue(registry.isActiveOperator(ALICE), "active operator");
        assertEq(registry.activeStake(ALICE), MIN_STAKE, "stake");
        assertTrue(registry.operatorOf(PEER_A) == ALICE, "operator");
        StakeRegistry.NodeInfo memory info = registry.nodeInfo(PEER_A);
        assertTrue(info.active && info.operator == ALICE && info.activeStake == MIN_STAKE, "node info");
        assertEq(token.balanceOf(address(registry)), MIN_STAKE, "held");
    }

    function test_stakeZeroReverts() public {
        vm.expectRevert(StakeRegistry.ZeroAmount.selector);
        registry.stake(0);
    }

    function test_underStakedIsInactive() public {
        _fundAndStake(ALICE, MIN_STAKE - 1);
        vm.prank(ALICE);
        registry.bindPeerId(PEER_A);
        assertTrue(!registry.isActive(PEER_A), "inactive");
        assertTrue(!registry.isActiveOperator(ALICE), "inactive operator");
    }

    function test_partialUnstakeAndWithdrawAfterDelay() public {
        _fundAndStake(ALICE, 300e18);
        vm.prank(ALICE);
        registry.requestUnstake(100e18);
        assertEq(registry.activeStake(ALICE), 200e18, "active");
        assertEq(registry.unbondingStake(ALICE), 100e18, "unbonding");
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.NothingToWithdraw.selector, uint64(block.timestamp + DELAY)));
        registry.withdraw();
        vm.warp(block.timestamp + DELAY);
        vm.prank(ALICE);
        registry.withdraw();
        assertEq(token.balanceOf(ALICE), 100e18, "withdrawn");
        assertEq(registry.unbondingStake(ALICE), 0, "cleared");
    }

    function test_unstakeMoreThanActiveReverts() public {
        _fundAndStake(ALICE, 100e18);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.InsufficientActiveStake.selector, 101e18, 100e18));
        registry.requestUnstake(101e18);
        vm.prank(ALICE);
        vm.expectRevert(StakeRegistry.ZeroAmount.selector);
        registry.requestUnstake(0);
    }

    function test_withdrawWithNothingReverts() public {
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.NothingToWithdraw.selector, uint64(0)));
        registry.withdraw();
    }

    function test_peerIdRules() public {
        _fundAndStake(ALICE, MIN_STAKE);
        vm.prank(ALICE);
        registry.bindPeerId(PEER_A);
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.PeerIdTaken.selector, ALICE));
        registry.bindPeerId(PEER_A);
        vm.prank(BOB);
        vm.expectRevert(StakeRegistry.InvalidPeerId.selector);
        registry.bindPeerId("");
        vm.prank(BOB);
        vm.expectRevert(StakeRegistry.InvalidPeerId.selector);
        registry.bindPeerId(new bytes(65));
        // Rebinding frees the old peer ID.
        vm.prank(ALICE);
        registry.bindPeerId(PEER_B);
        assertTrue(registry.operatorOf(PEER_A) == address(0), "old freed");
        assertTrue(registry.isActive(PEER_B), "new active");
        vm.prank(BOB);
        registry.bindPeerId(PEER_A);
        assertTrue(registry.operatorOf(PEER_A) == BOB, "taken by bob");
        vm.prank(ALICE);
        registry.unbindPeerId();
        assertEq(registry.peerIdOf(ALICE).length, 0, "unbound");
        vm.prank(ALICE);
        vm.expectRevert(StakeRegistry.NoPeerIdBound.selector);
        registry.unbindPeerId();
    }

    function test_onlySlasherSlashes() public {
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.NotSlasher.selector, address(this)));
        registry.slash(ALICE, 1, 1, bytes32(0), address(0));
    }

    function test_slashTakesActiveThenUnbondingAndPaysReporter() public {
        registry.setSlasher(address(this));
        _fundAndStake(ALICE, 300e18);
        vm.prank(ALICE);
        registry.requestUnstake(200e18);
        uint256 supplyBefore = token.totalSupply();
        uint256 slashed = registry.slash(ALICE, 250e18, 1, bytes32("e"), BOB);
        assertEq(slashed, 250e18, "slashed");
        assertEq(registry.activeStake(ALICE), 0, "active gone");
        assertEq(registry.unbondingStake(ALICE), 50e18, "unbonding left");
        assertEq(token.balanceOf(BOB), 25e18, "reporter 10%");
        assertEq(supplyBefore - token.totalSupply(), 225e18, "rest burned");
    }

    function test_slashNeverExceedsHoldings() public {
        registry.setSlasher(address(this));
        _fundAndStake(ALICE, 100e18);
        assertEq(registry.slash(ALICE, 1_000e18, 1, bytes32(0), address(0)), 100e18, "capped");
        assertEq(registry.slash(ALICE, 1, 1, bytes32(0), BOB), 0, "nothing left");
    }

    function test_pauseBlocksStakeButNotExit() public {
        _fundAndStake(ALICE, 200e18);
        registry.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        registry.stake(1);
        vm.prank(ALICE);
        registry.requestUnstake(200e18);
        vm.warp(block.timestamp + DELAY);
        vm.prank(ALICE);
        registry.withdraw();
        assertEq(token.balanceOf(ALICE), 200e18, "exit while paused");
        registry.unpause();
    }

    function test_parameterBoundsAndOwnership() public {
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.ParameterOutOfBounds.selector, bytes32("unbondingDelay"), 1 hours));
        registry.setUnbondingDelay(1 hours);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.ParameterOutOfBounds.selector, bytes32("minStake"), 0));
        registry.setMinStake(0);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.ParameterOutOfBounds.selector, bytes32("reporterRewardBps"), 5_001));
        registry.setReporterRewardBps(5_001);
        registry.setUnbondingDelay(3 days);
        registry.setMinStake(1e18);
        registry.setReporterRewardBps(0);
        assertEq(registry.unbondingDelay(), 3 days, "delay");
        vm.expectRevert(StakeRegistry.ZeroAddress.selector);
        registry.setSlasher(address(0));
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, ALICE));
        registry.setMinStake(1);
        registry.transferOwnership(ALICE);
        assertTrue(registry.owner() == address(this), "two-step: still owner");
        vm.prank(ALICE);
        registry.acceptOwnership();
        assertTrue(registry.owner() == ALICE, "accepted");
    }

    function test_constructorRejectsZeroToken() public {
        vm.expectRevert(StakeRegistry.ZeroAddress.selector);
        new StakeRegistry(IERC20(address(0)), address(this), 1, DELAY, 0);
    }

    function test_stakeWithPermitAndViews() public {
        uint256 key = 0xA11CE5;
        address owner_ = vm.addr(key);
        token.transfer(owner_, MIN_STAKE);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner_,
                address(registry),
                MIN_STAKE,
                token.nonces(owner_),
                deadline
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        vm.prank(owner_);
        registry.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
        assertEq(registry.activeStake(owner_), MIN_STAKE, "staked by permit");
        assertEq(registry.minStake(), MIN_STAKE, "min stake");
        assertEq(registry.reporterRewardBps(), REPORTER_BPS, "reporter bps");
        assertTrue(registry.slasher() == address(rounds), "slasher");
        assertEq(registry.unbondingReleaseTime(owner_), 0, "nothing unbonding");
    }

    function test_activeStakeAtReadsTheEndOfEachPastBlock() public {
        registry.setSlasher(address(this));
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
        assertEq(registry.totalActiveAt(start + 2), 250e18, "total");
        assertEq(registry.activeStakeAt(BOB, start + 4), 0, "never staked");
    }

    function test_activeStakeAtRejectsBlocksNotOver() public {
        _fundAndStake(ALICE, MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(IStakeRegistry.FutureLookup.selector, block.number, block.number));
        registry.activeStakeAt(ALICE, block.number);
        vm.expectRevert(abi.encodeWithSelector(IStakeRegistry.FutureLookup.selector, block.number + 1, block.number));
        registry.totalActiveAt(block.number + 1);
        vm.expectRevert(abi.encodeWithSelector(IStakeRegistry.FutureLookup.selector, type(uint256).max, block.number));
        registry.activeStakeAt(ALICE, type(uint256).max);
    }

    /// Fuzz: any sequence of stake / unstake / slash by two operators across blocks; every past block's lookup
    /// (per operator and total) equals the stake recorded at the end of that block.
    function testFuzz_activeStakeAtMatchesHistory(uint256[12] calldata ops) public {
        registry.setSlasher(address(this));
        address[2] memory who = [ALICE, BOB];
        for (uint256 k = 0; k < 2; k++) {
            token.transfer(who[k], 1e26);
            vm.prank(who[k]);
            token.approve(address(registry), type(uint256).max);
        }
        vm.roll(block.number + 1);
        uint256 start = block.number;
        uint256[][3] memory history;
        for (uint256 k = 0; k < 3; k++) history[k] = new uint256[](ops.length * 2 + 1);
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
                history[2][j] = registry.totalActiveStake();
            }
            vm.roll(block.number + advance);
        }
        uint256 last = block.number - start;
        vm.roll(block.number + 1);
        for (uint256 j = 0; j <= last; j++) {
            assertEq(registry.activeStakeAt(ALICE, start + j), history[0][j], "alice at block");
            assertEq(registry.activeStakeAt(BOB, start + j), history[1][j], "bob at block");
            assertEq(registry.totalActiveAt(start + j), history[2][j], "total at block");
        }
        assertEq(registry.activeStakeAt(ALICE, start - 1), 0, "before start");
    }

    /// Fuzz: any stake / unstake / slash sequence keeps the registry solvent and never over-slashes.
    function testFuzz_stakeUnstakeSlash(uint256 stakeAmount, uint256 unstakeAmount, uint256 slashAmount) public {
        stakeAmount = bound(stakeAmount, 1, 1e27);
        unstakeAmount = bound(unstakeAmount, 0, stakeAmount);
        slashAmount = bound(slashAmount, 0, 2e27);
        registry.setSlasher(address(this));
        _fundAndStake(ALICE, stakeAmount);
        if (unstakeAmount > 0) {
            vm.prank(ALICE);
            registry.requestUnstake(unstakeAmount);
        }
        uint256 before = registry.slashableStake(ALICE);
        uint256 slashed = registry.slash(ALICE, slashAmount, 2, bytes32(0), BOB);
        assertEq(slashed, slashAmount < before ? slashAmount : before, "slash = min(amount, holdings)");
        assertEq(registry.slashableStake(ALICE), before - slashed, "holdings reduced exactly");
        assertEq(token.balanceOf(BOB), (slashed * REPORTER_BPS) / 10_000, "reporter share floors");
        assertEq(
            token.balanceOf(address(registry)),
            registry.totalActiveStake() + registry.totalUnbondingStake(),
            "solvent"
        );
    }
}

/// @notice Drives random stake / unstake / withdraw / slash calls for the invariant test.
contract RegistryHandler is TestBase {
    StakeRegistry internal immutable registry;
    VainToken internal immutable token;
    address[3] internal actors = [address(0x1001), address(0x1002), address(0x1003)];

    constructor(StakeRegistry registry_, VainToken token_) {
        registry = registry_;
        token = token_;
    }

    function stake(uint256 who, uint256 amount) external {
        address actor = actors[who % 3];
        amount = 1 + (amount % 1e24);
        token.transfer(actor, amount);
        vm.startPrank(actor);
        token.approve(address(registry), amount);
        registry.stake(amount);
        vm.stopPrank();
    }

    function requestUnstake(uint256 who, uint256 amount) external {
        address actor = actors[who % 3];
        uint256 active = registry.activeStake(actor);
        if (active == 0) return;
        vm.prank(actor);
        registry.requestUnstake(1 + (amount % active));
    }

    function withdraw(uint256 who) external {
        address actor = actors[who % 3];
        if (registry.unbondingStake(actor) == 0) return;
        vm.warp(registry.unbondingReleaseTime(actor));
        vm.prank(actor);
        registry.withdraw();
    }

    function slash(uint256 who, uint256 amount) external {
        registry.slash(actors[who % 3], amount % 2e24, 1, bytes32(0), address(0xBEEF));
    }
}

contract StakeRegistryInvariantTest is Fixture {
    RegistryHandler internal handler;

    function setUp() public {
        _deploy();
        handler = new RegistryHandler(registry, token);
        registry.setSlasher(address(handler));
        token.transfer(address(handler), 500_000_000e18);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_registryHoldsExactlyActivePlusUnbonding() public view {
        assertEq(
            token.balanceOf(address(registry)),
            registry.totalActiveStake() + registry.totalUnbondingStake(),
            "registry balance == active + unbonding"
        );
    }
}
