/**
 * The sparse wire form of an encoded aggregate (docs/protocol.md §7), the blob every node downloads each round
 * to derive the next model as base + aggregate. The aggregate is a vector of 16-bit fixed-point codes (what the
 * circuit proves); after top-k updates most of them are the code of 0, so only the others travel:
 *
 *   magic "VA" | version u8 (1) | dimension varint | background u16 LE | count varint |
 *   index deltas varint × count (first = index, then gap − 1) | zigzag(code − background) varint × count |
 *   crc32 u32 LE
 *
 * `background` is the code every unlisted entry has. The decoding is exact, so the decoded vector's commitment
 * is the posted one: nodes check the bytes by recomputing it, as for the dense form. Dense 16-bit codes cost
 * 2 bytes per parameter (203 KB for the MLP); this form ~2.5 bytes per non-zero entry (an averaged update moves
 * a weight by a few hundred codes at most, so most differences fit one or two varint bytes).
 */
import { crc32 } from "node:zlib";

import { UpdateDecodeError } from "./errors.ts";
import { Reader, concat, writeVarint } from "./wire.ts";

export const AGGREGATE_MAGIC = [0x56, 0x41] as const; // "VA"
export const AGGREGATE_WIRE_VERSION = 1;

/** Serializes `codes`, listing only the entries that differ from `background`. */
export function encodeSparseCodes(codes: Uint16Array, background: number): Uint8Array {
  const header: number[] = [...AGGREGATE_MAGIC, AGGREGATE_WIRE_VERSION];
  writeVarint(header, codes.length);
  header.push(background & 0xff, background >> 8);
  const indices: number[] = [];
  for (let i = 0; i < codes.length; i++) if (codes[i] !== background) indices.push(i);
  writeVarint(header, indices.length);
  const deltas: number[] = [];
  let previous = -1;
  for (const index of indices) {
    writeVarint(deltas, index - previous - 1);
    previous = index;
  }
  const values: number[] = [];
  for (const index of indices) {
    const difference = codes[index]! - background;
    writeVarint(values, difference >= 0 ? difference * 2 : -difference * 2 - 1);
  }
  const body = concat([Uint8Array.from(header), Uint8Array.from(deltas), Uint8Array.from(values)]);
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32(body), true);
  return out;
}

/** Whether `bytes` start like a sparse aggregate (the dense form has no magic). */
export function isSparseCodes(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === AGGREGATE_MAGIC[0] && bytes[1] === AGGREGATE_MAGIC[1];
}

/**
 * Parses a sparse aggregate of exactly `dimension` codes; refuses anything truncated, of another dimension,
 * unordered, with trailing bytes or a bad checksum with an `UpdateDecodeError`.
 */
export function decodeSparseCodes(bytes: Uint8Array, dimension: number): Uint16Array {
  if (bytes.length < 3 + 1 + 2 + 1 + 4)
    throw new UpdateDecodeError("TRUNCATED", `only ${bytes.length} bytes`);
  if (!isSparseCodes(bytes)) throw new UpdateDecodeError("BAD_MAGIC", "not a vAIn aggregate");
  const body = bytes.subarray(0, bytes.length - 4);
  const expected = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true);
  if (crc32(body) !== expected)
    throw new UpdateDecodeError("BAD_CHECKSUM", "checksum mismatch (corrupted in transit)");
  const reader = new Reader(body);
  reader.offset = 2;
  const version = reader.u8();
  if (version !== AGGREGATE_WIRE_VERSION)
    throw new UpdateDecodeError("UNSUPPORTED_VERSION", `version ${version}`);
  const announced = reader.varint();
  if (announced !== dimension)
    throw new UpdateDecodeError("MALFORMED", `dimension ${announced}, expected ${dimension}`);
  const background = reader.u8() | (reader.u8() << 8);
  const count = reader.varint();
  if (count > dimension)
    throw new UpdateDecodeError("MALFORMED", `${count} entries for dimension ${dimension}`);
  const codes = new Uint16Array(dimension).fill(background);
  const indices = reader.ascendingIndices(count, dimension);
  for (const index of indices) {
    const zigzag = reader.varint();
    const code = background + (zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2);
    if (code < 0 || code > 0xffff) throw new UpdateDecodeError("MALFORMED", `code ${code} out of range`);
    codes[index] = code;
  }
  if (reader.offset !== body.length) throw new UpdateDecodeError("MALFORMED", "trailing bytes");
  return codes;
}
