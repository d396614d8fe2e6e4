/**
 * The compact wire format of a compressed update (docs/protocol.md §8), version 2:
 *
 *   magic "VU" | version u8 (2) | value kind u8 (0 = float32, 2/4/8 = QSGD bits) | dimension varint |
 *   count varint | [norm f32 LE, when quantized] | Rice parameter u8 | [level coding u8, when quantized:
 *   0 = packed, 1 = Huffman] | bit stream, least significant bit first: [Huffman code lengths, 4 bits per level
 *   from -(2^(bits-1) - 1) up] | index gaps Rice-coded × count | [levels: a Huffman code each, most significant
 *   bit first, or `bits` each in two's complement] | zero bits to the byte | [float32 LE × count, when float] |
 *   crc32 u32 LE over everything before it
 *
 * A gap is an index less the previous one less 1 (the first: the index itself). The encoder picks the Rice
 * parameter and the level coding that take the fewest bits (entropy.ts says why they beat version 1).
 * Version 1 (index gaps as LEB128 varints, levels packed from the next byte) is still decoded: updates stored on
 * disk before an upgrade, and peers not yet upgraded, stay readable. The decoder refuses anything truncated,
 * oversized, out of range, with non-zero padding or a bad checksum with an `UpdateDecodeError`.
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
import { levelCount } from "./sparse.ts";
import type { QuantizedValues, SparseUpdate } from "./sparse.ts";
import { mapFloat32 } from "../core/vectors.ts";

export const WIRE_MAGIC = [0x56, 0x55] as const; // "VU"
/** The version `encodeUpdate` writes; `decodeUpdate` reads it and version 1. */
export const WIRE_VERSION = 2;
/** Largest model a decoder accepts by default (elements); an announced dimension above it is refused. */
export const DEFAULT_MAX_DIMENSION = 50_000_000;
/** Bits of one Huffman code length in the level table. */
const CODE_LENGTH_BITS = 4;
const LEVELS_PACKED = 0;
const LEVELS_HUFFMAN = 1;

export function writeVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Serializes a sparse update (version 2). */
export function encodeUpdate(update: SparseUpdate): Uint8Array {
  const header: number[] = [...WIRE_MAGIC, WIRE_VERSION];
  const quantized = !(update.values instanceof Float32Array);
  header.push(quantized ? (update.values as QuantizedValues).bits : 0);
  writeVarint(header, update.dimension);
  writeVarint(header, update.indices.length);
  const parts: Uint8Array[] = [Uint8Array.from(header)];
  if (quantized) {
    const norm = new Uint8Array(4);
    new DataView(norm.buffer).setFloat32(0, (update.values as QuantizedValues).norm, true);
    parts.push(norm);
  }
  const gaps: number[] = [];
  let previous = -1;
  for (const index of update.indices) {
    if (index <= previous || index >= update.dimension)
      throw new RangeError("indices must be increasing and in range");
    gaps.push(index - previous - 1);
    previous = index;
  }
  const parameter = riceParameter(gaps);
  const stream = new BitWriter();
  if (update.values instanceof Float32Array) {
    parts.push(Uint8Array.of(parameter));
    for (const gap of gaps) writeRice(stream, gap, parameter);
    parts.push(stream.finish());
    const bytes = new Uint8Array(update.values.length * 4);
    const view = new DataView(bytes.buffer);
    update.values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    parts.push(bytes);
  } else {
    const { bits, levels } = update.values;
    const limit = levelCount(bits);
    const counts = Array.from({ length: 2 * limit + 1 }, () => 0);
    for (const level of levels) counts[level + limit]!++;
    const lengths = levels.length === 0 ? counts : huffmanLengths(counts);
    const huffmanBits =
      counts.length * CODE_LENGTH_BITS + counts.reduce((n, c, symbol) => n + c * lengths[symbol]!, 0);
    const huffman = levels.length > 0 && huffmanBits < levels.length * bits;
    parts.push(Uint8Array.of(parameter, huffman ? LEVELS_HUFFMAN : LEVELS_PACKED));
    if (huffman) for (const length of lengths) stream.bits(length, CODE_LENGTH_BITS);
    for (const gap of gaps) writeRice(stream, gap, parameter);
    if (huffman) {
      const codes = canonicalCodes(lengths);
      for (const level of levels) writeHuffman(stream, codes[level + limit]!, lengths[level + limit]!);
    } else {
      const mask = (1 << bits) - 1;
      for (const level of levels) stream.bits(level & mask, bits);
    }
    parts.push(stream.finish());
  }
  const body = concat(parts);
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32(body), true);
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** A bounds-checked reader over an encoded blob (every overrun is an `UpdateDecodeError`). */
export class Reader {
  offset = 0;
  private readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  need(n: number): void {
    if (this.offset + n > this.bytes.length)
      throw new UpdateDecodeError("TRUNCATED", `needs ${n} more bytes at offset ${this.offset}`);
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.offset++]!;
  }

  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return result;
      multiplier *= 128;
    }
    throw new UpdateDecodeError("MALFORMED", "varint longer than 8 bytes");
  }

  /** `count` strictly ascending indices below `dimension`, each written as its gap to the previous one less 1. */
  ascendingIndices(count: number, dimension: number): Uint32Array {
    const indices = new Uint32Array(count);
    let previous = -1;
    for (let i = 0; i < count; i++) {
      const index = previous + 1 + this.varint();
      if (index >= dimension)
        throw new UpdateDecodeError("MALFORMED", `index ${index} outside dimension ${dimension}`);
      indices[i] = index;
      previous = index;
    }
    return indices;
  }
}

/** Parses and validates an encoded update (version 2 or 1). */
export function decodeUpdate(bytes: Uint8Array, options: { maxDimension?: number } = {}): SparseUpdate {
  const maxDimension = options.maxDimension ?? DEFAULT_MAX_DIMENSION;
  if (bytes.length < 4 + 4) throw new UpdateDecodeError("TRUNCATED", `only ${bytes.length} bytes`);
  if (bytes[0] !== WIRE_MAGIC[0] || bytes[1] !== WIRE_MAGIC[1])
    throw new UpdateDecodeError("BAD_MAGIC", "not a vAIn update");
  const body = bytes.subarray(0, bytes.length - 4);
  const expected = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true);
  if (crc32(body) !== expected)
    throw new UpdateDecodeError("BAD_CHECKSUM", "checksum mismatch (corrupted in transit)");
  const reader = new Reader(body);
  reader.offset = 2;
  const version = reader.u8();
  if (version !== WIRE_VERSION && version !== 1)
    throw new UpdateDecodeError("UNSUPPORTED_VERSION", `version ${version}`);
  const kind = reader.u8();
  if (kind !== 0 && kind !== 2 && kind !== 4 && kind !== 8)
    throw new UpdateDecodeError("MALFORMED", `value kind ${kind}`);
  const dimension = reader.varint();
  if (dimension > maxDimension)
    throw new UpdateDecodeError("OVERSIZED", `dimension ${dimension} exceeds ${maxDimension}`);
  const count = reader.varint();
  if (count > dimension)
    throw new UpdateDecodeError("MALFORMED", `${count} entries for dimension ${dimension}`);
  let norm = 0;
  if (kind !== 0) {
    reader.need(4);
    norm = new DataView(body.buffer, body.byteOffset + reader.offset, 4).getFloat32(0, true);
    reader.offset += 4;
    if (!Number.isFinite(norm) || norm < 0) throw new UpdateDecodeError("MALFORMED", "bad norm");
  }
  const read = version === 1 ? readVersion1 : readVersion2;
  const { indices, levels, floatsAt } = read(body, reader, { kind, dimension, count });
  if (kind === 0) {
    const valueBytes = count * 4;
    if (floatsAt + valueBytes > body.length) throw new UpdateDecodeError("TRUNCATED", "values cut short");
    if (floatsAt + valueBytes !== body.length) throw new UpdateDecodeError("MALFORMED", "trailing bytes");
    const view = new DataView(body.buffer, body.byteOffset + floatsAt, valueBytes);
    const values = mapFloat32({ length: count }, (_, i) => view.getFloat32(i * 4, true));
    if (values.some((v) => !Number.isFinite(v))) throw new UpdateDecodeError("MALFORMED", "non-finite value");
    return { dimension, indices, values };
  }
  return { dimension, indices, values: { bits: kind as 2 | 4 | 8, levels: levels!, norm } };
}

interface Header {
  readonly kind: number;
  readonly dimension: number;
  readonly count: number;
}

/** What a version's body holds: indices, quantized levels, and where float32 values start (float kind). */
interface Body {
  readonly indices: Uint32Array;
  readonly levels?: Int8Array;
  readonly floatsAt: number;
}

/** Version 1: LEB128 index gaps, then levels packed from the next byte, up to the checksum. */
function readVersion1(body: Uint8Array, reader: Reader, { kind, dimension, count }: Header): Body {
  const indices = reader.ascendingIndices(count, dimension);
  if (kind === 0) return { indices, floatsAt: reader.offset };
  const valueBytes = Math.ceil((count * kind) / 8);
  reader.need(valueBytes);
  if (reader.offset + valueBytes !== body.length) throw new UpdateDecodeError("MALFORMED", "trailing bytes");
  const levels = new Int8Array(count);
  const bits = new BitReader(body, reader.offset, body.length);
  for (let i = 0; i < count; i++) levels[i] = signedLevel(bits.bits(kind), kind);
  return { indices, levels, floatsAt: body.length };
}

/** Version 2: the Rice parameter, the level coding, then one bit stream (see the format above). */
function readVersion2(body: Uint8Array, reader: Reader, { kind, dimension, count }: Header): Body {
  const parameter = reader.u8();
  if (parameter > MAX_RICE_PARAMETER) throw new UpdateDecodeError("MALFORMED", `Rice parameter ${parameter}`);
  const coding = kind === 0 ? LEVELS_PACKED : reader.u8();
  if (coding !== LEVELS_PACKED && coding !== LEVELS_HUFFMAN)
    throw new UpdateDecodeError("MALFORMED", `level coding ${coding}`);
  const stream = new BitReader(body, reader.offset, body.length);
  let decoder: HuffmanDecoder | undefined;
  if (coding === LEVELS_HUFFMAN) {
    const symbols = 2 * levelCount(kind as 2 | 4 | 8) + 1;
    decoder = new HuffmanDecoder(Array.from({ length: symbols }, () => stream.bits(CODE_LENGTH_BITS)));
  }
  const indices = new Uint32Array(count);
  let previous = -1;
  for (let i = 0; i < count; i++) {
    const index = previous + 1 + readRice(stream, parameter, dimension);
    if (index >= dimension)
      throw new UpdateDecodeError("MALFORMED", `index ${index} outside dimension ${dimension}`);
    indices[i] = index;
    previous = index;
  }
  if (kind === 0) return { indices, floatsAt: stream.finish() };
  const levels = new Int8Array(count);
  const limit = levelCount(kind as 2 | 4 | 8);
  for (let i = 0; i < count; i++)
    levels[i] = decoder === undefined ? signedLevel(stream.bits(kind), kind) : decoder.read(stream) - limit;
  if (stream.finish() !== body.length) throw new UpdateDecodeError("MALFORMED", "trailing bytes");
  return { indices, levels, floatsAt: body.length };
}

/** A packed two's-complement level of `bits` bits, refused outside ±(2^(bits-1) − 1). */
function signedLevel(raw: number, bits: number): number {
  const limit = 2 ** (bits - 1) - 1;
  const level = raw > limit ? raw - 2 ** bits : raw;
  if (level < -limit) throw new UpdateDecodeError("MALFORMED", `level ${level} outside ±${limit}`);
  return level;
}
