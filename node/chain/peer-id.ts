/**
 * Peer IDs on chain: `StakeRegistry.bindPeerId` stores the libp2p peer ID's multihash bytes
 * (docs/protocol.md §2), and the usual string form (`12D3KooW…`, `Qm…`) is their base58btc encoding. The
 * one codec of the project (the CLI, the node, the status API and the dashboard use it): multiformats'
 * base58btc and multihash parser only, so the dashboard bundles a few kilobytes, not libp2p.
 */
import { base58btc } from "multiformats/bases/base58";
import { decode as decodeMultihash } from "multiformats/hashes/digest";
import { bytesToHex, hexToBytes, isHex } from "viem";
import type { Hex } from "viem";

import { ChainError } from "./errors.ts";

/** The registry's `MAX_PEER_ID_LENGTH`. */
export const MAX_PEER_ID_BYTES = 64;

/**
 * Multihash codes a libp2p peer ID uses: identity (the public key inline: Ed25519, secp256k1) and
 * sha2-256 (of a larger RSA key).
 */
const PEER_ID_MULTIHASH_CODES: ReadonlySet<number> = new Set([0x00, 0x12]);

/** A peer ID string that is not a libp2p peer ID. */
export class InvalidPeerIdError extends ChainError {
  override readonly name = "InvalidPeerIdError";
  constructor(text: string, detail: string) {
    super("INVALID_PEER_ID", `invalid peer ID "${text}": ${detail}`);
  }
}

/** True when `bytes` parse as the multihash of a libp2p peer ID. */
function isPeerIdMultihash(bytes: Uint8Array): boolean {
  try {
    return PEER_ID_MULTIHASH_CODES.has(decodeMultihash(bytes).code);
  } catch {
    return false;
  }
}

/**
 * The bytes `bindPeerId` expects for a peer ID: its base58btc string ("12D3KooW…") or its multihash bytes
 * as 0x hex. Throws `InvalidPeerIdError` unless they are a peer ID's multihash of 1 to 64 bytes.
 */
export function peerIdToChainBytes(input: string): Hex {
  const text = input.trim();
  let bytes: Uint8Array;
  if (isHex(text, { strict: true }) && text.length % 2 === 0) {
    bytes = hexToBytes(text);
  } else {
    try {
      bytes = base58btc.baseDecode(text);
    } catch {
      throw new InvalidPeerIdError(input, "not a libp2p peer ID (expected e.g. 12D3KooW…)");
    }
  }
  if (bytes.length === 0 || bytes.length > MAX_PEER_ID_BYTES) {
    throw new InvalidPeerIdError(
      input,
      `${bytes.length} bytes, the registry accepts 1..${MAX_PEER_ID_BYTES}`,
    );
  }
  if (!isPeerIdMultihash(bytes)) {
    throw new InvalidPeerIdError(input, "not a libp2p peer ID (expected e.g. 12D3KooW…)");
  }
  return bytesToHex(bytes);
}

/**
 * The peer ID string of bytes read from the registry; `null` when none is bound. Bytes that are not a
 * peer ID's multihash (anyone may bind arbitrary bytes) come back as hex so they are still visible.
 */
export function peerIdFromChainBytes(bytes: Hex): string | null {
  if (bytes === "0x") return null;
  const raw = hexToBytes(bytes);
  return isPeerIdMultihash(raw) ? base58btc.baseEncode(raw) : bytes;
}
