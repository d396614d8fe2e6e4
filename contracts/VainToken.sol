// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title VainToken
/// @notice The vAIn staking and reward token: ERC-20 with EIP-2612 permit (stake in one signature),
/// burnable (slashed stake is burned) and a fixed cap. The whole initial supply goes to a treasury.
/// @dev No mint function exists after construction, so the cap can never be reached by anyone later.
contract VainToken is ERC20, ERC20Burnable, ERC20Capped, ERC20Permit {
    /// @notice The treasury address is zero.
    error VainTokenZeroTreasury();

    /// @param treasury receives `initialSupply`
    /// @param initialSupply minted once at deployment, at most `maxSupply`
    /// @param maxSupply the hard cap on total supply
    constructor(address treasury, uint256 initialSupply, uint256 maxSupply)
        ERC20("vAIn", "VAIN")
        ERC20Capped(maxSupply)
        ERC20Permit("vAIn")
    {
        if (treasury == address(0)) revert VainTokenZeroTreasury();
        _mint(treasury, initialSupply);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped) {
        super._update(from, to, value);
    }
}
