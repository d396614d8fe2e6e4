// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {StakeRegistry} from "./StakeRegistry.sol";
import {StakeRegistryParameters} from "./StakeRegistryParameters.sol";
import {VainToken} from "./VainToken.sol";
import {Fixture} from "./test/Fixture.sol";
import {TestBase} from "./test/Vm.sol";

/// @notice Owner powers: parameter changes are queued, bounded and applied only after stakers could exit.
contract StakeRegistryOwnerTest is Fixture {
    address internal constant ALICE = address(0xA11CE);
    StakeRegistryParameters.Parameter internal constant MIN_STAKE_P = StakeRegistryParameters.Parameter.MinStake;
    StakeRegistryParameters.Parameter internal constant DELAY_P = StakeRegistryParameters.Parameter.UnbondingDelay;
    StakeRegistryParameters.Parameter internal constant BPS_P = StakeRegistryParameters.Parameter.ReporterRewardBps;

    function setUp() public {
        _deploy();
    }

    function test_parameterChangesAreBoundedOwnerOnlyAndDelayed() public {
        vm.expectRevert(abi.encodeWithSelector(StakeRegistryParameters.ParameterOutOfBounds.selector, DELAY_P, 1 hours));
        registry.queueParameterChange(DELAY_P, 1 hours);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistryParameters.ParameterOutOfBounds.selector, DELAY_P, 61 days));
        registry.queueParameterChange(DELAY_P, 61 days);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistryParameters.ParameterOutOfBounds.selector, MIN_STAKE_P, 0));
        registry.queueParameterChange(MIN_STAKE_P, 0);
        vm.expectRevert(abi.encodeWithSelector(StakeRegistryParameters.ParameterOutOfBounds.selector, BPS_P, 1_001));
        registry.queueParameterChange(BPS_P, 1_001);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, ALICE));
        registry.queueParameterChange(MIN_STAKE_P, 1);

        uint256 notice = registry.PARAMETER_CHANGE_NOTICE();
        assertEq(registry.parameterChangeDelay(), DELAY + notice, "delay = unbonding delay + notice");
        uint64 effectiveAt = registry.queueParameterChange(MIN_STAKE_P, 200e18);
        assertEq(effectiveAt, block.timestamp + DELAY + notice, "effective time");
        (uint256 value, uint64 at) = registry.pendingParameterChange(MIN_STAKE_P);
        assertTrue(value == 200e18 && at == effectiveAt, "pending view");
        vm.warp(effectiveAt - 1);
        assertEq(registry.minStake(), MIN_STAKE, "old value until the change is due");
        vm.warp(effectiveAt);
        assertEq(registry.minStake(), 200e18, "applies by itself when due");
        (value, at) = registry.pendingParameterChange(MIN_STAKE_P);
        assertTrue(value == 0 && at == 0, "nothing pending any more");
        vm.expectRevert(abi.encodeWithSelector(StakeRegistryParameters.NoPendingParameterChange.selector, MIN_STAKE_P));
        registry.cancelParameterChange(MIN_STAKE_P);

        registry.queueParameterChange(BPS_P, 0);
        registry.cancelParameterChange(BPS_P);
        vm.warp(block.timestamp + 100 days);
        assertEq(registry.reporterRewardBps(), REPORTER_BPS, "cancelled change never applies");

        registry.transferOwnership(ALICE);
        assertTrue(registry.owner() == address(this), "two-step: still owner");
        vm.prank(ALICE);
        registry.acceptOwnership();
        assertTrue(registry.owner() == ALICE, "accepted");
    }

    /// A staker who requests unstaking within the notice has withdrawn everything before any queued change
    /// applies, even when a longer unbonding delay is queued first.
    function test_stakersCanExitBeforeAQueuedChangeApplies() public {
        _fundAndStake(ALICE, 300e18);
        uint64 delayAt = registry.queueParameterChange(DELAY_P, 60 days);
        vm.warp(block.timestamp + 1);
        // Queued behind the longer pending delay: waits for it.
        uint64 bpsAt = registry.queueParameterChange(BPS_P, 0);
        assertEq(bpsAt, block.timestamp + 60 days + registry.PARAMETER_CHANGE_NOTICE(), "uses the longest delay");
        vm.warp(block.timestamp + registry.PARAMETER_CHANGE_NOTICE() - 2);
        vm.prank(ALICE);
        registry.requestUnstake(300e18);
        uint64 release = registry.unbondingReleaseTime(ALICE);
        assertTrue(release < delayAt && release < bpsAt, "out before either change applies");
        vm.warp(release);
        vm.prank(ALICE);
        registry.withdraw();
        assertEq(token.balanceOf(ALICE), 300e18, "all of it back");
    }

    /// Fuzz: a delay change, then (some time later) a share change and maybe a replacing delay change; an
    /// operator that requests unstaking within the notice of a change is released before that change applies.
    function testFuzz_leavingWithinTheNoticeBeatsEveryChange(uint256 d1, uint256 gap, uint256 d2, uint256 offset)
        public
    {
        uint256 notice = registry.PARAMETER_CHANGE_NOTICE();
        _fundAndStake(ALICE, 300e18);
        uint256 t0 = block.timestamp;
        uint64 at1 = registry.queueParameterChange(DELAY_P, bound(d1, 1 days, 60 days));
        // Up to twice the first change's wait, so it often falls due inside the second notice.
        vm.warp(t0 + bound(gap, 0, 2 * (at1 - t0)));
        uint256 t2 = block.timestamp;
        uint64 at2 = registry.queueParameterChange(BPS_P, 0);
        // Half the runs also replace the pending delay change (cancelling it), half leave it to fall due.
        uint64 at3 = type(uint64).max;
        if (d2 % 2 == 0) at3 = registry.queueParameterChange(DELAY_P, bound(d2, 1 days, 60 days));
        uint256 requestTime = t2 + bound(offset, 0, notice - 1);
        vm.warp(requestTime);
        vm.prank(ALICE);
        registry.requestUnstake(300e18);
        uint64 release = registry.unbondingReleaseTime(ALICE);
        assertTrue(release < at2 && release < at3, "out before the changes queued at t2");
        if (requestTime < t0 + notice) assertTrue(release < at1, "out before the change queued at t0");
    }

    /// An unbonding delay change never touches stake already unbonding, in either direction.
    function test_unbondingDelayChangeNeverAffectsPendingRequests() public {
        _fundAndStake(ALICE, 300e18);
        uint64 effectiveAt = registry.queueParameterChange(DELAY_P, 30 days);
        vm.warp(effectiveAt - 1);
        vm.prank(ALICE);
        registry.requestUnstake(100e18);
        uint64 before = registry.unbondingReleaseTime(ALICE);
        assertEq(before, effectiveAt - 1 + DELAY, "old delay for a request before the change");
        vm.warp(effectiveAt);
        vm.prank(ALICE);
        registry.requestUnstake(100e18);
        StakeRegistry.Unbonding[] memory queue = registry.unbondingRequests(ALICE);
        assertEq(queue[0].releaseTime, before, "pending request unchanged");
        assertEq(queue[1].releaseTime, effectiveAt + 30 days, "new delay for new requests");
    }
}

/// @notice Three operators acting on the registry: the moves both invariant handlers share.
abstract contract OperatorActors is TestBase {
    StakeRegistry internal immutable registry;
    VainToken internal immutable token;
    address[3] internal actors;

    constructor(StakeRegistry registry_, VainToken token_, address first) {
        registry = registry_;
        token = token_;
        actors = [first, address(uint160(first) + 1), address(uint160(first) + 2)];
    }

    function actor(uint256 i) external view returns (address) {
        return actors[i];
    }

    /// @dev Funds `a` with `amount` from this handler's tokens and stakes it.
    function _fundAndStake(address a, uint256 amount) internal {
        token.transfer(a, amount);
        vm.startPrank(a);
        token.approve(address(registry), amount);
        registry.stake(amount);
        vm.stopPrank();
    }

    /// @dev Requests unstaking of part of `a`'s active stake, when it has some and a free queue slot.
    function _requestUnstake(address a, uint256 amount) internal {
        uint256 active = registry.activeStake(a);
        if (active == 0 || registry.unbondingRequests(a).length == registry.MAX_UNBONDING_ENTRIES()) return;
        vm.prank(a);
        registry.requestUnstake(1 + (amount % active));
    }

    /// @dev Moves the clock to `a`'s next release, if it is ahead.
    function _warpToNextRelease(address a) internal {
        uint256 release = registry.unbondingReleaseTime(a);
        if (release > block.timestamp) vm.warp(release);
    }
}

/// @notice Plays the owner (every owner call, with random arguments) and three operators (stake, unstake,
/// withdraw, bind) in random order, and records anything that should never happen.
contract OwnerHandler is OperatorActors {
    mapping(address actor => uint256) public funded;
    /// Owner calls that moved or reduced stake, re-pointed the slasher, or a withdrawal of released stake that failed.
    uint256 public violations;

    constructor(StakeRegistry registry_, VainToken token_) OperatorActors(registry_, token_, address(0x2001)) {}

    // ---- operators

    function stake(uint256 who, uint256 amount) external {
        if (registry.paused()) return;
        address a = actors[who % 3];
        amount = 1 + (amount % 1e24);
        funded[a] += amount;
        _fundAndStake(a, amount);
    }

    function requestUnstake(uint256 who, uint256 amount) external {
        _requestUnstake(actors[who % 3], amount);
    }

    function withdraw(uint256 who) external {
        address a = actors[who % 3];
        if (registry.unbondingStake(a) == 0) return;
        _warpToNextRelease(a);
        uint256 due = registry.withdrawableStake(a);
        uint256 before = token.balanceOf(a);
        vm.prank(a);
        try registry.withdraw() {
            if (token.balanceOf(a) != before + due) violations++;
        } catch {
            violations++;
        }
    }

    function bind(uint256 who, uint8 id) external {
        address a = actors[who % 3];
        if (registry.paused() || registry.activeStake(a) < registry.minStake()) return;
        vm.prank(a);
        try registry.bindPeerId(abi.encodePacked(bytes32(uint256(id % 4) + 1))) {} catch {}
    }

    // ---- owner

    function queueChange(uint8 which, uint256 value) external {
        StakeRegistryParameters.Parameter p = StakeRegistryParameters.Parameter(which % 3);
        if (p == StakeRegistryParameters.Parameter.MinStake) value = 1 + (value % 1e21);
        else if (p == StakeRegistryParameters.Parameter.UnbondingDelay) value = bound(value, 1 days, 60 days);
        else value %= 1_001;
        registry.queueParameterChange(p, value);
    }

    function cancelChange(uint8 which) external {
        try registry.cancelParameterChange(StakeRegistryParameters.Parameter(which % 3)) {} catch {}
    }

    function pauseOrUnpause() external {
        if (registry.paused()) registry.unpause();
        else registry.pause();
    }

    function trySetSlasher(address slasher_) external {
        try registry.setSlasher(slasher_) {
            violations++;
        } catch {}
    }

    function trySlash(uint256 who, uint256 amount) external {
        try registry.slash(actors[who % 3], amount, 1, bytes32(0), address(this)) returns (uint256 slashed) {
            if (slashed != 0) violations++;
        } catch {}
    }

    function wait(uint256 secondsAhead) external {
        vm.warp(block.timestamp + (secondsAhead % 30 days));
    }
}

/// @notice Invariant: no sequence of owner calls reduces any operator's stake or blocks its exit.
contract StakeRegistryOwnerInvariantTest is Fixture {
    OwnerHandler internal handler;

    function setUp() public {
        _deploy();
        handler = new OwnerHandler(registry, token);
        registry.transferOwnership(address(handler));
        vm.prank(address(handler));
        registry.acceptOwnership();
        token.transfer(address(handler), 500_000_000e18);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_ownerCannotReduceStake() public view {
        assertEq(handler.violations(), 0, "an owner call moved stake, or released stake could not be withdrawn");
        assertTrue(registry.slasher() == address(rounds), "slasher unchanged");
        for (uint256 i = 0; i < 3; i++) {
            address a = handler.actor(i);
            assertEq(token.balanceOf(a) + registry.slashableStake(a), handler.funded(a), "operator holdings intact");
        }
    }
}

/// @notice Drives random stake / unstake / withdraw / slash calls (self-reports included) for conservation.
contract RegistryHandler is OperatorActors {
    constructor(StakeRegistry registry_, VainToken token_) OperatorActors(registry_, token_, address(0x1001)) {}

    function stake(uint256 who, uint256 amount) external {
        _fundAndStake(actors[who % 3], 1 + (amount % 1e24));
    }

    function requestUnstake(uint256 who, uint256 amount) external {
        _requestUnstake(actors[who % 3], amount);
    }

    function withdraw(uint256 who) external {
        address a = actors[who % 3];
        if (registry.unbondingStake(a) == 0) return;
        _warpToNextRelease(a);
        vm.prank(a);
        registry.withdraw();
    }

    function slash(uint256 who, uint256 amount, uint256 reporter) external {
        address r = reporter % 4 == 3 ? address(0xBEEF) : actors[reporter % 3];
        registry.slash(actors[who % 3], amount % 2e24, 1, bytes32(0), r);
    }

    function wait(uint256 secondsAhead) external {
        vm.warp(block.timestamp + (secondsAhead % 3 days));
    }
}

/// @notice Invariant: the registry holds exactly active + unbonding stake, and the totals equal the sums.
contract StakeRegistryInvariantTest is Fixture {
    RegistryHandler internal handler;

    function setUp() public {
        _deploy();
        registry = new StakeRegistry(IERC20(address(token)), address(this), MIN_STAKE, DELAY, REPORTER_BPS);
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
        uint256 active;
        uint256 unbonding;
        for (uint256 i = 0; i < 3; i++) {
            address a = handler.actor(i);
            active += registry.activeStake(a);
            StakeRegistry.Unbonding[] memory queue = registry.unbondingRequests(a);
            uint256 queued;
            for (uint256 j = 0; j < queue.length; j++) queued += queue[j].amount;
            assertEq(queued, registry.unbondingStake(a), "queue sums to the unbonding stake");
            unbonding += queued;
        }
        assertEq(active, registry.totalActiveStake(), "total active == sum");
        assertEq(unbonding, registry.totalUnbondingStake(), "total unbonding == sum");
    }
}
