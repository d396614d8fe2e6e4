// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {StakeRegistry} from "../StakeRegistry.sol";
import {VainToken} from "../VainToken.sol";
import {TestBase} from "./Vm.sol";

/// @notice A token and a registry whose (fixed-once) slasher is the test itself, so a test can slash and
/// credit rewards directly, as the rounds contract does.
abstract contract DelegationFixture is TestBase {
    uint256 internal constant MIN_STAKE = 100e18;
    uint256 internal constant DELAY = 2 days;
    uint256 internal constant REPORTER_BPS = 1_000;
    uint256 internal constant ANY_COMMISSION = 10_000;

    VainToken internal token;
    StakeRegistry internal registry;

    function _deployRegistry() internal {
        token = new VainToken(address(this), 1_000_000_000e18, 2_000_000_000e18);
        registry = new StakeRegistry(IERC20(address(token)), address(this), MIN_STAKE, DELAY, REPORTER_BPS);
        registry.setSlasher(address(this));
    }

    function _stake(address who, uint256 amount) internal {
        token.transfer(who, amount);
        vm.startPrank(who);
        token.approve(address(registry), amount);
        registry.stake(amount);
        vm.stopPrank();
    }

    function _delegate(address who, address operator, uint256 amount) internal {
        token.transfer(who, amount);
        vm.startPrank(who);
        token.approve(address(registry), amount);
        registry.delegate(operator, amount, ANY_COMMISSION);
        vm.stopPrank();
    }

    /// @dev What the rounds contract does on a round reward: split, then transfer the delegators' part.
    function _credit(address operator, uint256 amount) internal returns (uint256 toDelegators) {
        toDelegators = registry.creditRewards(operator, amount);
        if (toDelegators != 0) token.transfer(address(registry), toDelegators);
    }

    function _slash(address operator, uint256 amount) internal returns (uint256) {
        return registry.slash(operator, amount, 1, bytes32(0), address(0));
    }

    function _active(address operator, address delegator) internal view returns (uint256 active) {
        (active, ) = registry.delegationValue(operator, delegator);
    }

    function _unbonding(address operator, address delegator) internal view returns (uint256 unbonding) {
        (, unbonding) = registry.delegationValue(operator, delegator);
    }

    /// @dev |a - b| <= tolerance.
    function _near(uint256 a, uint256 b, uint256 tolerance, string memory message) internal pure {
        require(a <= b + tolerance && b <= a + tolerance, message);
    }
}
