/**
 * Lossless entropy coding for the update wire format's version 2 (wire.ts, docs/protocol.md §8): Rice codes for
 * the gaps between sent indices and canonical Huffman codes for quantized levels. Both are exact, so an update
 * decodes to the same indices and levels as before; only the bytes shrink (bench:compression's default-task
 * updates: index gaps ~8% below LEB128 varints, 4-bit levels ~45% below packed nibbles, because top-k values
 * bunch just above the threshold and their levels do too).
 *
 * Bits are written least significant first within each byte, as the packed levels of version 1 are.
 */
import { UpdateDecodeError } from "./errors.ts";

/** Longest Huffman code (bits): a code length is sent in 4 bits, and 15 covers 255 levels of 8-bit QSGD. */
export const MAX_HUFFMAN_BITS = 15;
/** Largest Rice parameter an encoder picks (bits): gaps in any model up to 2^32 entries stay short. */
export const MAX_RICE_PARAMETER = 31;

export class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private used = 0;

  bit(b: number): void {
    if (b !== 0) this.current |= 1 << this.used;
    if (++this.used === 8) {
      this.bytes.push(this.current);
      this.current = 0;
      this.used = 0;
    }
  }

  /** The low `n` bits of `value`, least significant first (n ≤ 32). */
  bits(value: number, n: number): void {
    for (let i = 0; i < n; i++) this.bit(Math.floor(value / 2 ** i) % 2);
  }

  /** The written bits, zero-padded to whole bytes. */
  finish(): Uint8Array {
    const out = Uint8Array.from(this.used === 0 ? this.bytes : [...this.bytes, this.current]);
    return out;
  }
}

/** Reads bits from `bytes[start, end)`; every overrun is a TRUNCATED `UpdateDecodeError`. */
export class BitReader {
  private position: number;
  private readonly bytes: Uint8Array;
  private readonly end: number;

  constructor(bytes: Uint8Array, start: number, end: number) {
    this.bytes = bytes;
    this.position = start * 8;
    this.end = end * 8;
  }

  bit(): number {
    if (this.position >= this.end) throw new UpdateDecodeError("TRUNCATED", "bit stream ends early");
    const b = (this.bytes[this.position >> 3]! >> (this.position & 7)) & 1;
    this.position++;
    return b;
  }

  bits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) value += this.bit() * 2 ** i;
    return value;
  }

  /** The byte after the last bit read; the padding bits before it must be 0 (one encoding per update). */
  finish(): number {
    while (this.position & 7) {
      if (this.bit() !== 0) throw new UpdateDecodeError("MALFORMED", "non-zero padding bits");
    }
    return this.position >> 3;
  }
}

/** The Rice parameter that codes `gaps` in the fewest bits (a gap g costs (g >> b) + 1 + b bits). */
export function riceParameter(gaps: readonly number[]): number {
  let best = 0;
  let bestBits = Infinity;
  for (let b = 0; b <= MAX_RICE_PARAMETER; b++) {
    let total = 0;
    for (const g of gaps) total += Math.floor(g / 2 ** b) + 1 + b;
    if (total < bestBits) {
      best = b;
      bestBits = total;
    }
  }
  return best;
}

export function writeRice(out: BitWriter, value: number, parameter: number): void {
  const quotient = Math.floor(value / 2 ** parameter);
  for (let i = 0; i < quotient; i++) out.bit(1);
  out.bit(0);
  out.bits(value - quotient * 2 ** parameter, parameter);
}

/** One Rice-coded value; refuses one above `max` (so a corrupt stream cannot spin through a long quotient). */
export function readRice(input: BitReader, parameter: number, max: number): number {
  let quotient = 0;
  const maxQuotient = Math.floor(max / 2 ** parameter);
  while (input.bit() === 1) {
    if (++quotient > maxQuotient) throw new UpdateDecodeError("MALFORMED", `Rice value above ${max}`);
  }
  const value = quotient * 2 ** parameter + input.bits(parameter);
  if (value > max) throw new UpdateDecodeError("MALFORMED", `Rice value above ${max}`);
  return value;
}

/**
 * Huffman code lengths (0 = symbol absent) for symbol counts, at most MAX_HUFFMAN_BITS long. Deterministic:
 * ties go to the lower symbol. A single present symbol gets length 1.
 */
export function huffmanLengths(counts: readonly number[]): number[] {
  let weights = counts.slice();
  for (;;) {
    const lengths = unlimitedLengths(weights);
    if (Math.max(...lengths) <= MAX_HUFFMAN_BITS) return lengths;
    // Flatten the distribution until the deepest code fits (rare: needs counts spanning ~2^15).
    weights = weights.map((w) => (w === 0 ? 0 : Math.max(1, w >> 1)));
  }
}

function unlimitedLengths(counts: readonly number[]): number[] {
  const lengths = counts.map(() => 0);
  type Node = { weight: number; order: number; symbols: number[] };
  let nodes: Node[] = [];
  counts.forEach((c, symbol) => {
    if (c > 0) nodes.push({ weight: c, order: symbol, symbols: [symbol] });
  });
  if (nodes.length === 1) lengths[nodes[0]!.symbols[0]!] = 1;
  let order = counts.length;
  while (nodes.length > 1) {
    nodes.sort((a, b) => a.weight - b.weight || a.order - b.order);
    const [a, b] = nodes as [Node, Node];
    for (const s of [...a.symbols, ...b.symbols]) lengths[s]!++;
    nodes = [
      { weight: a.weight + b.weight, order: order++, symbols: [...a.symbols, ...b.symbols] },
      ...nodes.slice(2),
    ];
  }
  return lengths;
}

/** Canonical codes (RFC 1951 §3.2.2 order: by length, then symbol) for code lengths. */
export function canonicalCodes(lengths: readonly number[]): number[] {
  const codes = lengths.map(() => 0);
  let code = 0;
  for (let length = 1; length <= MAX_HUFFMAN_BITS; length++) {
    lengths.forEach((l, symbol) => {
      if (l === length) codes[symbol] = code++;
    });
    code <<= 1;
  }
  return codes;
}

/** Writes `symbol`'s code, most significant bit first (so the decoder can walk it bit by bit). */
export function writeHuffman(out: BitWriter, code: number, length: number): void {
  for (let i = length - 1; i >= 0; i--) out.bit((code >> i) & 1);
}

/** A canonical Huffman decoder; refuses lengths whose codes over-fill the code space (Kraft sum > 1). */
export class HuffmanDecoder {
  /** Per length: the first canonical code, the index of its symbol in `sorted`, and how many codes. */
  private readonly first: number[] = [];
  private readonly offset: number[] = [];
  private readonly count: number[] = [];
  private readonly sorted: number[] = [];

  constructor(lengths: readonly number[]) {
    let kraft = 0;
    for (const l of lengths) if (l > 0) kraft += 2 ** -l;
    if (kraft === 0 || kraft > 1) throw new UpdateDecodeError("MALFORMED", "invalid Huffman code lengths");
    let code = 0;
    for (let length = 1; length <= MAX_HUFFMAN_BITS; length++) {
      this.first[length] = code;
      this.offset[length] = this.sorted.length;
      lengths.forEach((l, symbol) => {
        if (l === length) this.sorted.push(symbol);
      });
      this.count[length] = this.sorted.length - this.offset[length]!;
      code = (code + this.count[length]!) << 1;
    }
  }

  read(input: BitReader): number {
    let code = 0;
    for (let length = 1; length <= MAX_HUFFMAN_BITS; length++) {
      code = (code << 1) | input.bit();
      const index = code - this.first[length]!;
      if (index < this.count[length]!) return this.sorted[this.offset[length]! + index]!;
    }
    throw new UpdateDecodeError("MALFORMED", "no Huffman code matches");
  }
}
