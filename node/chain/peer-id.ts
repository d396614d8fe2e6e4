/**
 * Peer IDs on chain: `StakeRegistry.bindPeerId` stores the libp2p peer ID's multihash bytes
 * (docs/protocol.md §2), and the string form is their base58btc encoding.
 */
import { peerIdFromString } from "@libp2p/peer-id";
import { toString as bytesToString } from "uint8arrays/to-string";
import { bytesToHex, hexToBytes } from "viem";
import type { Hex } from "viem";

import { ChainError } from "./errors.ts";

/** The registry's `MAX_PEER_ID_LENGTH`. */
export const MAX_PEER_ID_BYTES = 64;

/** A peer ID string that libp2p cannot parse. */
export class InvalidPeerIdError extends ChainError {
  override readonly name = "InvalidPeerIdError";
  constructor(text: string, detail: string) {
    super("INVALID_PEER_ID", `invalid peer ID "${text}": ${detail}`);
  }
}

/** The bytes `bindPeerId` expects for a peer ID string ("12D3KooW…"), validated by libp2p. */
export function peerIdToChainBytes(peerId: string): Hex {
  let bytes: Uint8Array;
  try {
    bytes = peerIdFromString(peerId.trim()).toMultihash().bytes;
  } catch {
    throw new InvalidPeerIdError(peerId, "not a libp2p peer ID (expected e.g. 12D3KooW…)");
  }
  if (bytes.length === 0 || bytes.length > MAX_PEER_ID_BYTES) {
    throw new InvalidPeerIdError(
      peerId,
      `${bytes.length} bytes, the registry accepts 1..${MAX_PEER_ID_BYTES}`,
    );
  }
  return bytesToHex(bytes);
}

/**
 * The peer ID string of bytes read from the registry; `null` when none is bound. Bytes that are not a
 * valid peer ID (anyone may bind arbitrary bytes) come back as hex so they are still visible.
 */
export function peerIdFromChainBytes(bytes: Hex): string | null {
  if (bytes === "0x") return null;
  const text = bytesToString(hexToBytes(bytes), "base58btc");
  try {
    return peerIdFromString(text).toString();
  } catch {
    return bytes;
  }
}
