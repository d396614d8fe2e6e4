// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title BlockHeader
/// @notice Reads the RANDAO value (`prevrandao`, the header's `mixHash`) of a past block from its RLP-encoded
/// header, checked against `blockhash`. A contract cannot read another block's `prevrandao` directly; the
/// header, whose keccak is the block hash, carries it as its 14th field.
/// @dev Walks the RLP item boundaries (never searches for a 0xa0 byte: the other fields are 32-byte hashes
/// too). Works for every post-merge header layout (London .. Prague), which all keep `mixHash` at index 13.
library BlockHeader {
    /// @notice Index of `mixHash` in the header list.
    uint256 internal constant MIX_HASH_INDEX = 13;

    /// @notice `blockNumber` is not in the past 256 blocks (or is the current or a future block).
    error BlockHashUnavailable(uint256 blockNumber);
    /// @notice The header's keccak is not the block hash of `blockNumber`.
    error HeaderMismatch(uint256 blockNumber);
    /// @notice The bytes are not an RLP list whose 14th item is a 32-byte string.
    error MalformedHeader();

    /// @notice True when `blockhash(blockNumber)` is available now (one of the 256 most recent blocks).
    /// @param blockNumber the block
    /// @return whether its hash can still be checked
    function available(uint256 blockNumber) internal view returns (bool) {
        return blockNumber < block.number && block.number - blockNumber <= 256;
    }

    /// @notice The `prevrandao` of block `blockNumber`, read from its header.
    /// @param header the block's RLP-encoded header (as `eth_getBlockByNumber` fields, RLP-encoded in order)
    /// @param blockNumber the block, one of the 256 most recent
    /// @return mix the block's `mixHash` (= `block.prevrandao` inside that block)
    function prevrandao(bytes calldata header, uint256 blockNumber) internal view returns (bytes32 mix) {
        if (!available(blockNumber)) revert BlockHashUnavailable(blockNumber);
        if (keccak256(header) != blockhash(blockNumber)) revert HeaderMismatch(blockNumber);
        (uint256 offset, uint256 end) = _listPayload(header);
        for (uint256 i = 0; i < MIX_HASH_INDEX; ++i) {
            offset = _skipItem(header, offset, end);
        }
        if (offset + 33 > end || uint8(header[offset]) != 0xa0) revert MalformedHeader();
        mix = bytes32(header[offset + 1:offset + 33]);
    }

    /// @dev The payload bounds of the outer RLP list, which must span the whole input.
    function _listPayload(bytes calldata data) private pure returns (uint256 offset, uint256 end) {
        if (data.length == 0) revert MalformedHeader();
        uint8 prefix = uint8(data[0]);
        uint256 length;
        if (prefix >= 0xc0 && prefix <= 0xf7) {
            offset = 1;
            length = prefix - 0xc0;
        } else if (prefix > 0xf7) {
            uint256 lengthBytes = prefix - 0xf7;
            offset = 1 + lengthBytes;
            length = _readLength(data, 1, lengthBytes);
        } else {
            revert MalformedHeader();
        }
        end = offset + length;
        if (end != data.length) revert MalformedHeader();
    }

    /// @dev The offset just past the RLP item at `offset`; reverts if it runs past `end`.
    function _skipItem(bytes calldata data, uint256 offset, uint256 end) private pure returns (uint256 next) {
        if (offset >= end) revert MalformedHeader();
        uint8 prefix = uint8(data[offset]);
        if (prefix < 0x80) {
            next = offset + 1;
        } else if (prefix <= 0xb7) {
            next = offset + 1 + (prefix - 0x80);
        } else if (prefix < 0xc0) {
            uint256 lengthBytes = prefix - 0xb7;
            next = offset + 1 + lengthBytes + _readLength(data, offset + 1, lengthBytes);
        } else if (prefix <= 0xf7) {
            next = offset + 1 + (prefix - 0xc0);
        } else {
            uint256 lengthBytes = prefix - 0xf7;
            next = offset + 1 + lengthBytes + _readLength(data, offset + 1, lengthBytes);
        }
        if (next > end) revert MalformedHeader();
    }

    /// @dev A big-endian length of `lengthBytes` (1..8) bytes at `offset`.
    function _readLength(bytes calldata data, uint256 offset, uint256 lengthBytes) private pure returns (uint256 length) {
        if (lengthBytes > 8 || offset + lengthBytes > data.length) revert MalformedHeader();
        for (uint256 i = 0; i < lengthBytes; ++i) {
            length = (length << 8) | uint8(data[offset + i]);
        }
    }
}
