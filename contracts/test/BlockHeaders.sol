// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice Builds RLP block headers shaped like a Prague header from `eth_getBlockByNumber` (21 fields:
/// short and long strings, single bytes, the empty string), with a chosen `mixHash`, for the tests that set
/// `blockhash` with `vm.setBlockhash`.
library BlockHeaders {
    function encodeBytes(bytes memory b) internal pure returns (bytes memory) {
        if (b.length == 1 && uint8(b[0]) < 0x80) return b;
        if (b.length <= 55) return abi.encodePacked(bytes1(uint8(0x80 + b.length)), b);
        return abi.encodePacked(_longPrefix(0xb7, b.length), b);
    }

    function encodeUint(uint256 x) internal pure returns (bytes memory) {
        if (x == 0) return hex"80";
        uint256 n;
        for (uint256 y = x; y != 0; y >>= 8) ++n;
        bytes memory b = new bytes(n);
        for (uint256 i = 0; i < n; ++i) b[n - 1 - i] = bytes1(uint8(x >> (8 * i)));
        return encodeBytes(b);
    }

    function encodeList(bytes memory payload) internal pure returns (bytes memory) {
        if (payload.length <= 55) return abi.encodePacked(bytes1(uint8(0xc0 + payload.length)), payload);
        return abi.encodePacked(_longPrefix(0xf7, payload.length), payload);
    }

    /// @notice A header for block `number` whose mixHash is `mix`; every other hash field is 0xa0-prefixed
    /// too, so a parser that searched for 0xa0 instead of walking the items would read the wrong one.
    function header(bytes32 mix, uint256 number) internal pure returns (bytes memory) {
        return encodeList(abi.encodePacked(_hashes(number), _numbers(number), _tail(mix)));
    }

    function _hashes(uint256 number) private pure returns (bytes memory) {
        bytes memory roots = abi.encodePacked(
            encodeBytes(abi.encodePacked(keccak256("state"))), // stateRoot
            encodeBytes(abi.encodePacked(keccak256("txs"))), // transactionsRoot
            encodeBytes(abi.encodePacked(keccak256("receipts"))) // receiptsRoot
        );
        return
            abi.encodePacked(
                encodeBytes(abi.encodePacked(keccak256(abi.encode("decoy", number)))), // parentHash
                encodeBytes(abi.encodePacked(keccak256("uncles"))), // sha3Uncles
                encodeBytes(abi.encodePacked(address(0xC0FFEE))), // miner
                roots,
                encodeBytes(new bytes(256)) // logsBloom: a long string
            );
    }

    function _numbers(uint256 number) private pure returns (bytes memory) {
        return
            abi.encodePacked(
                encodeUint(0), // difficulty: the empty string
                encodeUint(number),
                encodeUint(30_000_000), // gasLimit
                encodeUint(21_000), // gasUsed
                encodeUint(1_700_000_000 + number), // timestamp
                encodeBytes("") // extraData
            );
    }

    function _tail(bytes32 mix) private pure returns (bytes memory) {
        bytes memory prague = abi.encodePacked(
            encodeUint(0), // blobGasUsed
            encodeUint(0), // excessBlobGas
            encodeBytes(abi.encodePacked(keccak256("beacon"))), // parentBeaconBlockRoot
            encodeBytes(abi.encodePacked(keccak256("requests"))) // requestsHash
        );
        return
            abi.encodePacked(
                encodeBytes(abi.encodePacked(mix)), // mixHash
                encodeBytes(abi.encodePacked(bytes8(0))), // nonce
                encodeUint(7), // baseFeePerGas: a single byte
                encodeBytes(abi.encodePacked(keccak256("withdrawals"))), // withdrawalsRoot
                prague
            );
    }

    function _longPrefix(uint8 base, uint256 length) private pure returns (bytes memory) {
        uint256 n;
        for (uint256 y = length; y != 0; y >>= 8) ++n;
        bytes memory b = new bytes(n + 1);
        b[0] = bytes1(uint8(base + n));
        for (uint256 i = 0; i < n; ++i) b[n - i] = bytes1(uint8(length >> (8 * i)));
        return b;
    }
}
