/**
 * libp2p peer IDs as the registry stores them: the multihash bytes (docs/protocol.md §2), which the usual
 * `12D3KooW…` string encodes in base58btc. A 30-line codec keeps multiformats out of the bundle.
 */
const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
/** `StakeRegistry.MAX_PEER_ID_LENGTH`. */
export const MAX_PEER_ID_BYTES = 64;

export class PeerIdFormatError extends Error {
  override readonly name = "PeerIdFormatError";
  readonly code = "INVALID_PEER_ID";
}

export function base58btcDecode(text: string): Uint8Array {
  let value = 0n;
  for (const char of text) {
    const digit = ALPHABET.indexOf(char);
    if (digit === -1) throw new PeerIdFormatError(`"${char}" is not a base58 character`);
    value = value * 58n + BigInt(digit);
  }
  const bytes: number[] = [];
  while (value > 0n) {
    bytes.unshift(Number(value & 0xffn));
    value >>= 8n;
  }
  let zeros = 0;
  while (zeros < text.length && text[zeros] === "1") zeros += 1;
  return Uint8Array.from([...new Array<number>(zeros).fill(0), ...bytes]);
}

export function base58btcEncode(bytes: Uint8Array): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let text = "";
  while (value > 0n) {
    text = ALPHABET[Number(value % 58n)] + text;
    value /= 58n;
  }
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros += 1;
  return "1".repeat(zeros) + text;
}

function toHex(bytes: Uint8Array): `0x${string}` {
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The `bindPeerId` argument for a peer ID typed by the user: base58btc (`12D3KooW…`, `Qm…`) or 0x hex. */
export function peerIdToChainBytes(input: string): `0x${string}` {
  const text = input.trim();
  if (text === "") throw new PeerIdFormatError("Enter the node's peer ID (vain-node init prints it).");
  let bytes: Uint8Array;
  if (/^0x([0-9a-fA-F]{2})+$/.test(text)) {
    bytes = Uint8Array.from(text.slice(2).match(/../g) ?? [], (pair) => parseInt(pair, 16));
  } else {
    bytes = base58btcDecode(text);
  }
  if (bytes.length === 0 || bytes.length > MAX_PEER_ID_BYTES) {
    throw new PeerIdFormatError(
      `A peer ID has 1 to ${MAX_PEER_ID_BYTES} bytes; this one has ${bytes.length}.`,
    );
  }
  return toHex(bytes);
}

/** The peer ID string of on-chain bytes. */
export function peerIdFromChainBytes(hex: `0x${string}`): string {
  const bytes = Uint8Array.from(hex.slice(2).match(/../g) ?? [], (pair) => parseInt(pair, 16));
  return base58btcEncode(bytes);
}
