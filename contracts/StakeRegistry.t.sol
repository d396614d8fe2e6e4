// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";
import {StakeRegistry} from "./StakeRegistry.sol";
import {StakeRegistryParameters} from "./StakeRegistryParameters.sol";
import {VainToken} from "./VainToken.sol";
import {Fixture} from "./test/Fixture.sol";
import {TestBase} from "./test/Vm.sol";

contract StakeRegistryTest is Fixture {
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    bytes internal constant PEER_A = hex"0024080112200102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
    bytes internal constant PEER_B = hex"0024080112201102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

    StakeRegistryParameters.Parameter internal constant MIN_STAKE_P = StakeRegistryParameters.Parameter.MinStake;
    StakeRegistryParameters.Parameter internal constant DELAY_P = StakeRegistryParameters.Parameter.UnbondingDelay;
    StakeRegistryParameters.Parameter internal constant BPS_P = StakeRegistryParameters.Parameter.ReporterRewardBps;

    function setUp() public {
        _deploy();
    }

    /// @dev Replaces the fixture's registry with one whose (fixed-once) slasher is this test.
    function _useRegistrySlashedByThisTest() internal {
        registry = new StakeRegistry(IERC20(address(token)), address(this), MIN_STAKE, DELAY, REPORTER_BPS);
        registry.setSlasher(address(this));
    }

    /// @dev A funded account with a known key, and a permit deadline an hour ahead.
    function _permitUser() internal returns (uint256 key, address owner_, uint256 deadline) {
        key = 0xA11CE5;
        owner_ = vm.addr(key);
        token.transfer(owner_, MIN_STAKE);
        deadline = block.timestamp + 1 hours;
    }

    function _signPermit(uint256 key, address owner_, uint256 value, uint256 deadline)
        internal
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner_,
                address(registry),
                value,
                token.nonces(owner_),
                deadline
            )
        );
        (v, r, s) = vm.sign(key, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
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
        _fundAndStake(ALICE, MIN_STAKE);
        vm.prank(ALICE);
        registry.bindPeerId(PEER_A);
        vm.prank(ALICE);
        registry.requestUnstake(1);
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
        _fundAndStake(BOB, MIN_STAKE);
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

    /// Attack: the owner re-points the slasher at itself to slash stakers. The slasher is fixed once.
    function test_slasherIsFixedOnceAndOwnerCannotSlash() public {
        _fundAndStake(ALICE, MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.SlasherAlreadySet.selector, address(rounds)));
        registry.setSlasher(address(this));
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.NotSlasher.selector, address(this)));
        registry.slash(ALICE, MIN_STAKE, 1, bytes32(0), address(this));
        assertEq(registry.slashableStake(ALICE), MIN_STAKE, "untouched");
    }

    /// Attack: the owner leaves the slasher unset, waits for stake, then names itself. Staking stays closed
    /// until the slasher is fixed, so nobody stakes without knowing who can slash.
    function test_stakingOpensOnlyOnceTheSlasherIsFixed() public {
        StakeRegistry fresh = new StakeRegistry(IERC20(address(token)), address(this), MIN_STAKE, DELAY, REPORTER_BPS);
        token.approve(address(fresh), 1);
        vm.expectRevert(StakeRegistry.SlasherNotSet.selector);
        fresh.stake(1);
        vm.expectRevert(StakeRegistry.ZeroAddress.selector);
        fresh.setSlasher(address(0));
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, ALICE));
        fresh.setSlasher(ALICE);
        fresh.setSlasher(address(rounds));
        fresh.stake(1);
        assertEq(fresh.activeStake(address(this)), 1, "staked after the slasher is fixed");
    }

    function test_slashTakesActiveThenUnbondingLatestFirstAndPaysReporter() public {
        _useRegistrySlashedByThisTest();
        _fundAndStake(ALICE, 300e18);
        vm.prank(ALICE);
        registry.requestUnstake(120e18);
        vm.warp(block.timestamp + 1 hours);
        vm.prank(ALICE);
        registry.requestUnstake(80e18);
        uint256 supplyBefore = token.totalSupply();
        // 100 active, then the latest request (80), then 20 of the earliest (120).
        uint256 slashed = registry.slash(ALICE, 200e18, 1, bytes32("e"), BOB);
        assertEq(slashed, 200e18, "slashed");
        assertEq(registry.activeStake(ALICE), 0, "active gone");
        assertEq(registry.unbondingStake(ALICE), 100e18, "unbonding left");
        StakeRegistry.Unbonding[] memory queue = registry.unbondingRequests(ALICE);
        assertEq(queue.length, 1, "the latest request went first");
        assertEq(queue[0].amount, 100e18, "the earliest request lost the rest");
        assertEq(token.balanceOf(BOB), 20e18, "reporter 10%");
        assertEq(supplyBefore - token.totalSupply(), 180e18, "rest burned");
        assertEq(registry.totalUnbondingStake(), 100e18, "total unbonding");
    }

    /// Attack: the offender reports itself to get the reporter share back. It earns nothing.
    function test_selfReportEarnsNothing() public {
        _useRegistrySlashedByThisTest();
        _fundAndStake(ALICE, 200e18);
        uint256 supplyBefore = token.totalSupply();
        uint256 slashed = registry.slash(ALICE, 100e18, 2, bytes32(0), ALICE);
        assertEq(slashed, 100e18, "slashed");
        assertEq(token.balanceOf(ALICE), 0, "no reporter share to the offender");
        assertEq(supplyBefore - token.totalSupply(), 100e18, "all burned");
    }

    function test_slashNeverExceedsHoldings() public {
        _useRegistrySlashedByThisTest();
        _fundAndStake(ALICE, 100e18);
        vm.prank(ALICE);
        registry.requestUnstake(40e18);
        assertEq(registry.slash(ALICE, 1_000e18, 1, bytes32(0), address(0)), 100e18, "capped");
        assertEq(registry.slash(ALICE, 1, 1, bytes32(0), BOB), 0, "nothing left");
        assertEq(registry.unbondingRequests(ALICE).length, 0, "queue emptied");
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

    function test_constructorRejectsZeroTokenAndOutOfBoundsParameters() public {
        vm.expectRevert(StakeRegistry.ZeroAddress.selector);
        new StakeRegistry(IERC20(address(0)), address(this), 1, DELAY, 0);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistryParameters.ParameterOutOfBounds.selector, MIN_STAKE_P, 0));
        new StakeRegistry(IERC20(address(token)), address(this), 0, DELAY, 0);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistryParameters.ParameterOutOfBounds.selector, DELAY_P, 1 hours));
        new StakeRegistry(IERC20(address(token)), address(this), 1, 1 hours, 0);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistryParameters.ParameterOutOfBounds.selector, BPS_P, 1_001));
        new StakeRegistry(IERC20(address(token)), address(this), 1, DELAY, 1_001);
    }

    function test_stakeWithPermitAndViews() public {
        (uint256 key, address owner_, uint256 deadline) = _permitUser();
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(key, owner_, MIN_STAKE, deadline);
        vm.prank(owner_);
        registry.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
        assertEq(registry.activeStake(owner_), MIN_STAKE, "staked by permit");
        assertEq(token.allowance(owner_, address(registry)), 0, "no allowance left");
        assertEq(registry.minStake(), MIN_STAKE, "min stake");
        assertEq(registry.reporterRewardBps(), REPORTER_BPS, "reporter bps");
        assertTrue(registry.slasher() == address(rounds), "slasher");
        assertEq(registry.unbondingReleaseTime(owner_), 0, "nothing unbonding");
    }

    /// A user with a bad or expired signature sees the permit's own error, not ERC20InsufficientAllowance.
    function test_permitErrorsSurface() public {
        (uint256 key, address owner_, uint256 deadline) = _permitUser();
        // Signed by the wrong key.
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(0xBAD, owner_, MIN_STAKE, deadline);
        vm.prank(owner_);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, vm.addr(0xBAD), owner_));
        registry.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
        // Expired.
        vm.warp(deadline + 1);
        (v, r, s) = _signPermit(key, owner_, MIN_STAKE, deadline);
        vm.prank(owner_);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        registry.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
        assertEq(registry.activeStake(owner_), 0, "nothing staked");
    }

    /// Front-running: someone submits the user's permit first; the stake still goes through on the allowance.
    function test_frontRunPermitStillStakes() public {
        (uint256 key, address owner_, uint256 deadline) = _permitUser();
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(key, owner_, MIN_STAKE, deadline);
        vm.prank(BOB);
        token.permit(owner_, address(registry), MIN_STAKE, deadline, v, r, s);
        vm.prank(owner_);
        registry.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
        assertEq(registry.activeStake(owner_), MIN_STAKE, "staked despite the used permit");
    }

    // ---------------------------------------------------------------- unbonding queue

    /// A second request never pushes back the first one's release time.
    function test_unbondingRequestsKeepTheirOwnReleaseTimes() public {
        _fundAndStake(ALICE, 300e18);
        uint256 t0 = block.timestamp;
        vm.prank(ALICE);
        registry.requestUnstake(100e18);
        vm.warp(t0 + 1 days);
        vm.prank(ALICE);
        registry.requestUnstake(50e18);
        assertEq(registry.unbondingReleaseTime(ALICE), t0 + DELAY, "next release is the first request's");
        vm.warp(t0 + DELAY);
        assertEq(registry.withdrawableStake(ALICE), 100e18, "first released");
        vm.prank(ALICE);
        registry.withdraw();
        assertEq(token.balanceOf(ALICE), 100e18, "first withdrawn on time");
        assertEq(registry.unbondingStake(ALICE), 50e18, "second still unbonding");
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.NothingToWithdraw.selector, uint64(t0 + 1 days + DELAY)));
        registry.withdraw();
        vm.warp(t0 + 1 days + DELAY);
        vm.prank(ALICE);
        registry.withdraw();
        assertEq(token.balanceOf(ALICE), 150e18, "second withdrawn");
        assertEq(registry.unbondingRequests(ALICE).length, 0, "queue empty");
    }

    function test_unbondingQueueIsBounded() public {
        _fundAndStake(ALICE, 100e18);
        uint256 max = registry.MAX_UNBONDING_ENTRIES();
        for (uint256 i = 0; i < max; i++) {
            vm.prank(ALICE);
            registry.requestUnstake(1e18);
            // A second request in the same second joins the entry instead of taking a slot.
            vm.prank(ALICE);
            registry.requestUnstake(1e18);
            vm.warp(block.timestamp + 1);
        }
        assertEq(registry.unbondingRequests(ALICE).length, max, "full");
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.TooManyUnbondingEntries.selector, max));
        registry.requestUnstake(1e18);
        vm.warp(registry.unbondingReleaseTime(ALICE));
        vm.prank(ALICE);
        registry.withdraw();
        vm.prank(ALICE);
        registry.requestUnstake(1e18);
        assertEq(registry.unbondingRequests(ALICE).length, max, "one slot freed and reused");
    }

    /// Fuzz: random requests, waits and withdrawals against a model: each request is released exactly
    /// `delay` after it was made, withdraw pays exactly the released ones, in any order of release.
    function testFuzz_unbondingQueueMatchesModel(uint256[10] calldata ops) public {
        _fundAndStake(ALICE, 1e24);
        uint256[] memory amounts = new uint256[](ops.length);
        uint256[] memory releases = new uint256[](ops.length);
        uint256 paid;
        for (uint256 i = 0; i < ops.length; i++) {
            uint256 op = ops[i];
            if (op % 3 != 0 && registry.unbondingRequests(ALICE).length < 8) {
                uint256 amount = 1 + ((op >> 8) % 1e22);
                vm.prank(ALICE);
                registry.requestUnstake(amount);
                amounts[i] = amount;
                releases[i] = block.timestamp + DELAY;
            } else {
                uint256 due;
                for (uint256 j = 0; j < i; j++) {
                    if (amounts[j] != 0 && releases[j] <= block.timestamp) {
                        due += amounts[j];
                        amounts[j] = 0;
                    }
                }
                vm.prank(ALICE);
                if (due == 0) vm.expectRevert();
                registry.withdraw();
                paid += due;
                assertEq(token.balanceOf(ALICE), paid, "withdraw pays exactly the released requests");
            }
            vm.warp(block.timestamp + ((op >> 2) % (DELAY + 1)));
        }
        uint256 pending;
        for (uint256 j = 0; j < ops.length; j++) pending += amounts[j];
        assertEq(registry.unbondingStake(ALICE), pending, "unbonding == unpaid requests");
    }

    // ---------------------------------------------------------------- peer identity

    /// Attack: bind a victim's peer ID with zero stake. Refused.
    function test_zeroStakeSquatterCannotBind() public {
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.InsufficientStakeToBind.selector, 0, MIN_STAKE));
        registry.bindPeerId(PEER_A);
        _fundAndStake(BOB, MIN_STAKE - 1);
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.InsufficientStakeToBind.selector, MIN_STAKE - 1, MIN_STAKE));
        registry.bindPeerId(PEER_A);
    }

    /// A squatter that falls below the minimum loses the ID to the first active operator that binds it.
    function test_underStakedHolderLosesItsPeerIdToAnActiveOperator() public {
        _fundAndStake(BOB, MIN_STAKE);
        vm.prank(BOB);
        registry.bindPeerId(PEER_A);
        _fundAndStake(ALICE, MIN_STAKE);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistry.PeerIdTaken.selector, BOB));
        registry.bindPeerId(PEER_A);
        vm.prank(BOB);
        registry.requestUnstake(1);
        vm.prank(ALICE);
        registry.bindPeerId(PEER_A);
        assertTrue(registry.operatorOf(PEER_A) == ALICE, "taken over");
        assertEq(registry.peerIdOf(BOB).length, 0, "the squatter's binding is gone");
        assertTrue(registry.isActive(PEER_A), "active under its new operator");
    }

    /// Fuzz: any stake / unstake / slash sequence keeps the registry solvent and never over-slashes.
    function testFuzz_stakeUnstakeSlash(uint256 stakeAmount, uint256 unstakeAmount, uint256 slashAmount) public {
        stakeAmount = bound(stakeAmount, 1, 1e27);
        unstakeAmount = bound(unstakeAmount, 0, stakeAmount);
        slashAmount = bound(slashAmount, 0, 2e27);
        _useRegistrySlashedByThisTest();
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
