/**
 * The compact wire format of a compressed update (docs/protocol.md §7):
 *
 *   magic "VU" | version u8 (1) | value kind u8 (0 = float32, 2/4/8 = QSGD bits) | dimension varint |
 *   count varint | [norm f32 LE, when quantized] | index deltas varint × count |
 *   values: float32 LE × count, or levels packed `bits` per value (two's complement, little-endian bit order) |
 *   crc32 u32 LE over everything before it
 *
 * Indices are strictly increasing; the first delta is the index itself. The decoder refuses anything
 * truncated, oversized, out of range or with a bad checksum with an `UpdateDecodeError`.
 */
import { crc32 } from "node:zlib";

import { UpdateDecodeError } from "./errors.ts";
import type { SparseUpdate } from "./sparse.ts";

export const WIRE_MAGIC = [0x56, 0x55] as const; // "VU"
export const WIRE_VERSION = 1;
/** Largest model a decoder accepts by default (elements); an announced dimension above it is refused. */
export const DEFAULT_MAX_DIMENSION = 50_000_000;

/** Appends `value` (a non-negative integer below 2^53) as an LEB128 varint. */
export function writeVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Serializes a sparse update. */
export function encodeUpdate(update: SparseUpdate): Uint8Array {
  const header: number[] = [...WIRE_MAGIC, WIRE_VERSION];
  const quantized = !(update.values instanceof Float32Array);
  header.push(quantized ? (update.values as { bits: number }).bits : 0);
  writeVarint(header, update.dimension);
  writeVarint(header, update.indices.length);
  const parts: Uint8Array[] = [Uint8Array.from(header)];
  if (quantized) {
    const norm = new Uint8Array(4);
    new DataView(norm.buffer).setFloat32(0, (update.values as { norm: number }).norm, true);
    parts.push(norm);
  }
  const deltas: number[] = [];
  let previous = -1;
  for (const index of update.indices) {
    if (index <= previous || index >= update.dimension)
      throw new RangeError("indices must be increasing and in range");
    writeVarint(deltas, index - previous - 1);
    previous = index;
  }
  parts.push(Uint8Array.from(deltas));
  if (update.values instanceof Float32Array) {
    const bytes = new Uint8Array(update.values.length * 4);
    const view = new DataView(bytes.buffer);
    update.values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    parts.push(bytes);
  } else {
    const { bits, levels } = update.values;
    const packed = new Uint8Array(Math.ceil((levels.length * bits) / 8));
    const mask = (1 << bits) - 1;
    levels.forEach((level, i) => {
      const bit = i * bits;
      packed[bit >> 3]! |= (level & mask) << (bit & 7);
    });
    parts.push(packed);
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

/** Parses and validates an encoded update. */
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
  if (version !== WIRE_VERSION) throw new UpdateDecodeError("UNSUPPORTED_VERSION", `version ${version}`);
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
  const indices = reader.ascendingIndices(count, dimension);
  const valueBytes = kind === 0 ? count * 4 : Math.ceil((count * kind) / 8);
  reader.need(valueBytes);
  if (reader.offset + valueBytes !== body.length) throw new UpdateDecodeError("MALFORMED", "trailing bytes");
  const start = body.byteOffset + reader.offset;
  if (kind === 0) {
    const view = new DataView(body.buffer, start, valueBytes);
    const values = Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
    if (values.some((v) => !Number.isFinite(v))) throw new UpdateDecodeError("MALFORMED", "non-finite value");
    return { dimension, indices, values };
  }
  const bits = kind as 2 | 4 | 8;
  const packed = body.subarray(reader.offset);
  const levels = new Int8Array(count);
  const mask = (1 << bits) - 1;
  const limit = 2 ** (bits - 1) - 1;
  for (let i = 0; i < count; i++) {
    const bit = i * bits;
    let raw = (packed[bit >> 3]! >> (bit & 7)) & mask;
    if (raw > limit) raw -= 1 << bits;
    if (raw < -limit) throw new UpdateDecodeError("MALFORMED", `level ${raw} outside ±${limit}`);
    levels[i] = raw;
  }
  return { dimension, indices, values: { bits, levels, norm } };
}
