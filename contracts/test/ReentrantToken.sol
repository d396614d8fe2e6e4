// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantToken
/// @notice TEST ONLY. An ERC-20 that calls back into a target during `transfer`, to prove the guarded
/// functions of StakeRegistry and TrainingRounds cannot be re-entered.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public payload;
    bool public reentered;
    bytes public lastRevert;

    constructor() ERC20("Reentrant", "RE") {
        _mint(msg.sender, 1e30);
    }

    /// @notice Arms the callback.
    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    /// @notice Burn hook used by StakeRegistry.slash.
    function burn(uint256 value) external {
        _burn(msg.sender, value);
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        bool ok = super.transfer(to, value);
        if (target != address(0) && !reentered) {
            reentered = true;
            (bool success, bytes memory data) = target.call(payload);
            if (success) revert("reentrancy succeeded");
            lastRevert = data;
        }
        return ok;
    }
}
