/**
 * The sparse wire form of an encoded aggregate (docs/protocol.md §8), the blob a node downloads to derive a
 * round's model as base + aggregate when it does not recompute it from the updates (unproven rounds, a
 * hierarchical root, a node replaying the task's history). The aggregate is a vector of 16-bit fixed-point
 * codes (what the circuit proves); after top-k updates most are the code of 0, so only the others travel.
 * Version 2:
 *
 *   magic "VA" | version u8 (2) | dimension varint | background u16 LE | count varint |
 *   gap Rice parameter u8 | value coding u8 (0 = Rice, 1 = Huffman) | value parameter u8 |
 *   [symbols varint, when Huffman] | bit stream, least significant bit first: [symbol table, when Huffman:
 *   the distinct values ascending as Rice-coded gaps (first = value, then gap − 1; value parameter), then a
 *   4-bit code length each] | index gaps Rice-coded × count | values × count (Rice-coded with the value
 *   parameter, or a Huffman code each, most significant bit first) | zero bits to the byte | crc32 u32 LE
 *
 * A value is zigzag(code − background). `background` is the code every unlisted entry has. Why Huffman over the
 * values themselves: entries of the union of top-k supports mostly come from one trainer, whose QSGD levels map
 * to a dozen codes each, so a round's aggregate holds a few hundred distinct values, bunched (bench:compression's
 * default-task aggregates at top-k 0.6%, seed 2: 277 distinct values over 4,147 entries; 12.2 KB in version 1,
 * ~6.3 KB in version 2). The encoder picks the value coding that takes fewer bits. Version 1 (LEB128 index gaps
 * and zigzag varint values, no parameters) is still decoded. The decoding is exact, so the decoded vector's
 * commitment is the posted one: nodes check the bytes by recomputing it.
 */
import { crc32 } from "node:zlib";

import {
  BitReader,
  BitWriter,
  HuffmanDecoder,
  MAX_RICE_PARAMETER,
  canonicalCodes,
  huffmanLengths,
  readRice,
  riceParameter,
  writeHuffman,
  writeRice,
} from "./entropy.ts";
import { UpdateDecodeError } from "./errors.ts";
import { Reader, concat, writeVarint } from "./wire.ts";

export const AGGREGATE_MAGIC = [0x56, 0x41] as const; // "VA"
/** The version `encodeSparseCodes` writes; `decodeSparseCodes` reads it and version 1. */
export const AGGREGATE_WIRE_VERSION = 2;
/**
 * Most distinct values a Huffman value table may hold. The encoder's Huffman construction is quadratic in them
 * (entropy.ts), and a table this large would cost more than it saves; a default-task aggregate holds ~300
 * (the 2% warm-up round more). Above it the values are Rice-coded.
 */
export const MAX_VALUE_SYMBOLS = 1024;
/** Largest zigzag value: a 16-bit code less a 16-bit background lies in ±65,535. */
const MAX_ZIGZAG = 2 * 0xffff;
const CODE_LENGTH_BITS = 4;
const VALUES_RICE = 0;
const VALUES_HUFFMAN = 1;

const zigzag = (difference: number) => (difference >= 0 ? difference * 2 : -difference * 2 - 1);
const unzigzag = (value: number) => (value % 2 === 0 ? value / 2 : -(value + 1) / 2);
const riceBits = (values: readonly number[], parameter: number) =>
  values.reduce((n, v) => n + Math.floor(v / 2 ** parameter) + 1 + parameter, 0);
/** Gaps of ascending `values`: the first is the value, then each difference less 1. */
const gapsOf = (values: readonly number[]) => values.map((v, i) => (i === 0 ? v : v - values[i - 1]! - 1));

/** How the values travel: Rice codes with one parameter, or a Huffman code over their distinct values. */
type ValueCoding =
  | { readonly kind: typeof VALUES_RICE; readonly parameter: number }
  | {
      readonly kind: typeof VALUES_HUFFMAN;
      readonly parameter: number;
      readonly symbols: readonly number[];
      readonly lengths: readonly number[];
    };

/** The value coding that takes the fewest bits (Rice on a tie: no table). Deterministic. */
function valueCoding(values: readonly number[]): ValueCoding {
  const riceParameterOfValues = riceParameter(values);
  const rice = { kind: VALUES_RICE, parameter: riceParameterOfValues } as const;
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  if (values.length === 0 || counts.size > MAX_VALUE_SYMBOLS) return rice;
  const symbols = [...counts.keys()].sort((a, b) => a - b);
  const lengths = huffmanLengths(symbols.map((s) => counts.get(s)!));
  const tableGaps = gapsOf(symbols);
  const parameter = riceParameter(tableGaps);
  const huffmanBits =
    riceBits(tableGaps, parameter) +
    symbols.length * CODE_LENGTH_BITS +
    symbols.reduce((n, s, i) => n + counts.get(s)! * lengths[i]!, 0);
  if (huffmanBits >= riceBits(values, riceParameterOfValues)) return rice;
  return { kind: VALUES_HUFFMAN, parameter, symbols, lengths };
}

/** Serializes `codes` (version 2), listing only the entries that differ from `background`. */
export function encodeSparseCodes(codes: Uint16Array, background: number): Uint8Array {
  const indices: number[] = [];
  for (let i = 0; i < codes.length; i++) if (codes[i] !== background) indices.push(i);
  const gaps = indices.map((index, i) => (i === 0 ? index : index - indices[i - 1]! - 1));
  const values = indices.map((index) => zigzag(codes[index]! - background));
  const gapParameter = riceParameter(gaps);
  const coding = valueCoding(values);
  const header: number[] = [...AGGREGATE_MAGIC, AGGREGATE_WIRE_VERSION];
  writeVarint(header, codes.length);
  header.push(background & 0xff, background >> 8);
  writeVarint(header, indices.length);
  header.push(gapParameter, coding.kind, coding.parameter);
  const stream = new BitWriter();
  let symbolOf: ((value: number) => { code: number; length: number }) | undefined;
  if (coding.kind === VALUES_HUFFMAN) {
    writeVarint(header, coding.symbols.length);
    for (const gap of gapsOf(coding.symbols)) writeRice(stream, gap, coding.parameter);
    for (const length of coding.lengths) stream.bits(length, CODE_LENGTH_BITS);
    const table = canonicalCodes(coding.lengths);
    const position = new Map(coding.symbols.map((s, i) => [s, i]));
    symbolOf = (value) => {
      const i = position.get(value)!;
      return { code: table[i]!, length: coding.lengths[i]! };
    };
  }
  for (const gap of gaps) writeRice(stream, gap, gapParameter);
  for (const value of values) {
    if (symbolOf === undefined) writeRice(stream, value, coding.parameter);
    else {
      const { code, length } = symbolOf(value);
      writeHuffman(stream, code, length);
    }
  }
  const body = concat([Uint8Array.from(header), stream.finish()]);
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
 * Parses a sparse aggregate (version 2 or 1) of exactly `dimension` codes; refuses anything truncated, of
 * another dimension, unordered, out of range, with non-zero padding, trailing bytes or a bad checksum with an
 * `UpdateDecodeError`.
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
  if (version !== AGGREGATE_WIRE_VERSION && version !== 1)
    throw new UpdateDecodeError("UNSUPPORTED_VERSION", `version ${version}`);
  const announced = reader.varint();
  if (announced !== dimension)
    throw new UpdateDecodeError("MALFORMED", `dimension ${announced}, expected ${dimension}`);
  const background = reader.u8() | (reader.u8() << 8);
  const count = reader.varint();
  if (count > dimension)
    throw new UpdateDecodeError("MALFORMED", `${count} entries for dimension ${dimension}`);
  const { indices, values } = (version === 1 ? readVersion1 : readVersion2)(body, reader, dimension, count);
  const codes = new Uint16Array(dimension).fill(background);
  indices.forEach((index, i) => {
    const code = background + unzigzag(values[i]!);
    if (code < 0 || code > 0xffff) throw new UpdateDecodeError("MALFORMED", `code ${code} out of range`);
    codes[index] = code;
  });
  return codes;
}

interface Entries {
  readonly indices: Uint32Array;
  /** Zigzag values, one per index. */
  readonly values: readonly number[];
}

/** Version 1: LEB128 index gaps, then zigzag values as LEB128 varints, up to the checksum. */
function readVersion1(body: Uint8Array, reader: Reader, dimension: number, count: number): Entries {
  const indices = reader.ascendingIndices(count, dimension);
  const values = Array.from(indices, () => reader.varint());
  if (reader.offset !== body.length) throw new UpdateDecodeError("MALFORMED", "trailing bytes");
  return { indices, values };
}

/** Version 2: the parameters, [the symbol count], then one bit stream (see the format above). */
function readVersion2(body: Uint8Array, reader: Reader, dimension: number, count: number): Entries {
  const gapParameter = reader.u8();
  const coding = reader.u8();
  const parameter = reader.u8();
  if (gapParameter > MAX_RICE_PARAMETER || parameter > MAX_RICE_PARAMETER)
    throw new UpdateDecodeError("MALFORMED", `Rice parameter ${Math.max(gapParameter, parameter)}`);
  if (coding !== VALUES_RICE && coding !== VALUES_HUFFMAN)
    throw new UpdateDecodeError("MALFORMED", `value coding ${coding}`);
  const symbolCount = coding === VALUES_HUFFMAN ? reader.varint() : 0;
  if (coding === VALUES_HUFFMAN && (symbolCount === 0 || symbolCount > Math.min(count, MAX_VALUE_SYMBOLS)))
    throw new UpdateDecodeError("MALFORMED", `${symbolCount} value symbols for ${count} entries`);
  const stream = new BitReader(body, reader.offset, body.length);
  const symbols: number[] = [];
  let decoder: HuffmanDecoder | undefined;
  if (coding === VALUES_HUFFMAN) {
    for (let i = 0; i < symbolCount; i++) {
      const value = (i === 0 ? 0 : symbols[i - 1]! + 1) + readRice(stream, parameter, MAX_ZIGZAG);
      if (value > MAX_ZIGZAG) throw new UpdateDecodeError("MALFORMED", `value ${value} out of range`);
      symbols.push(value);
    }
    const lengths = symbols.map(() => stream.bits(CODE_LENGTH_BITS));
    if (lengths.includes(0)) throw new UpdateDecodeError("MALFORMED", "a listed value without a code");
    decoder = new HuffmanDecoder(lengths);
  }
  const indices = new Uint32Array(count);
  let previous = -1;
  for (let i = 0; i < count; i++) {
    const index = previous + 1 + readRice(stream, gapParameter, dimension);
    if (index >= dimension)
      throw new UpdateDecodeError("MALFORMED", `index ${index} outside dimension ${dimension}`);
    indices[i] = index;
    previous = index;
  }
  const values = Array.from(indices, () =>
    decoder === undefined ? readRice(stream, parameter, MAX_ZIGZAG) : symbols[decoder.read(stream)]!,
  );
  if (stream.finish() !== body.length) throw new UpdateDecodeError("MALFORMED", "trailing bytes");
  return { indices, values };
}
