import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Rng } from "../core/rng.ts";
import {
  BitReader,
  BitWriter,
  HuffmanDecoder,
  MAX_HUFFMAN_BITS,
  canonicalCodes,
  huffmanLengths,
  readRice,
  riceParameter,
  writeHuffman,
  writeRice,
} from "./entropy.ts";
import { UpdateDecodeError } from "./errors.ts";

const kraft = (lengths: readonly number[]) => lengths.reduce((s, l) => s + (l === 0 ? 0 : 2 ** -l), 0);

describe("entropy coding", () => {
  it("Rice-codes gaps exactly and picks the cheapest parameter", () => {
    const rng = new Rng(3);
    const gaps = Array.from({ length: 500 }, () => Math.floor(-Math.log(1 - rng.next()) * 200));
    const parameter = riceParameter(gaps);
    const cost = (b: number) => gaps.reduce((n, g) => n + Math.floor(g / 2 ** b) + 1 + b, 0);
    for (let b = 0; b < 20; b++) assert.ok(cost(parameter) <= cost(b));
    // A geometric gap of mean 200 codes best near log2(200 · ln 2) ≈ 7.
    assert.ok(parameter >= 6 && parameter <= 8, `parameter ${parameter}`);
    const out = new BitWriter();
    for (const g of gaps) writeRice(out, g, parameter);
    const bytes = out.finish();
    assert.equal(bytes.length, Math.ceil(cost(parameter) / 8));
    const input = new BitReader(bytes, 0, bytes.length);
    assert.deepEqual(
      gaps.map(() => readRice(input, parameter, 1e6)),
      gaps,
    );
    assert.equal(input.finish(), bytes.length);
  });

  it("refuses a Rice value above its bound without reading a long quotient", () => {
    const out = new BitWriter();
    writeRice(out, 5000, 0);
    const bytes = out.finish();
    assert.throws(
      () => readRice(new BitReader(bytes, 0, bytes.length), 0, 100),
      (e: unknown) => e instanceof UpdateDecodeError && e.code === "MALFORMED",
    );
  });

  it("builds Huffman codes within 15 bits that decode back, even for counts spanning 2^40", () => {
    const fibonacci = [1, 1];
    while (fibonacci.length < 40) fibonacci.push(fibonacci.at(-1)! + fibonacci.at(-2)!);
    const rng = new Rng(5);
    for (const counts of [[0, 0, 7, 0], [3, 3, 3, 3, 3], fibonacci, [9, 0, 1, 0, 120, 4000, 2, 0, 33]]) {
      const lengths = huffmanLengths(counts);
      assert.ok(Math.max(...lengths) <= MAX_HUFFMAN_BITS);
      assert.ok(kraft(lengths) <= 1);
      counts.forEach((c, s) => assert.equal(lengths[s]! > 0, c > 0));
      const symbols = Array.from({ length: 300 }, () => {
        const present = counts.flatMap((c, s) => (c > 0 ? [s] : []));
        return present[rng.int(present.length)]!;
      });
      const codes = canonicalCodes(lengths);
      const out = new BitWriter();
      for (const s of symbols) writeHuffman(out, codes[s]!, lengths[s]!);
      const bytes = out.finish();
      const input = new BitReader(bytes, 0, bytes.length);
      const decoder = new HuffmanDecoder(lengths);
      assert.deepEqual(
        symbols.map(() => decoder.read(input)),
        symbols,
      );
    }
  });

  it("comes within 0.1 bit of the entropy on 4-bit QSGD levels, under the 4 bits of packing", () => {
    // Level histogram of bench:compression's default task (seed 2, all 96 updates together), levels -7…7.
    const counts = [88, 533, 5158, 11562, 5623, 4633, 3426, 0, 2926, 4094, 4354, 9024, 4428, 600, 135];
    const lengths = huffmanLengths(counts);
    const total = counts.reduce((a, b) => a + b, 0);
    const bits = counts.reduce((n, c, s) => n + c * lengths[s]!, 0) / total;
    const entropy = counts.reduce((h, c) => (c === 0 ? h : h - (c / total) * Math.log2(c / total)), 0);
    assert.ok(bits < entropy + 0.1 && bits < 3.5, `${bits} bits a level, entropy ${entropy}`);
  });

  it("refuses code lengths that over-fill the code space, and bits that match no code", () => {
    for (const lengths of [
      [1, 1, 1],
      [0, 0],
      [2, 1, 1],
    ])
      assert.throws(() => new HuffmanDecoder(lengths), UpdateDecodeError);
    // One symbol of length 1 leaves code "1" unused: reading it fails instead of inventing a symbol.
    const decoder = new HuffmanDecoder([0, 1]);
    const ones = Uint8Array.of(0xff, 0xff);
    assert.throws(() => decoder.read(new BitReader(ones, 0, 2)), UpdateDecodeError);
    assert.equal(decoder.read(new BitReader(Uint8Array.of(0), 0, 1)), 1);
  });

  it("refuses non-zero padding and reading past the end", () => {
    const input = new BitReader(Uint8Array.of(0b1000_0001), 0, 1);
    assert.equal(input.bit(), 1);
    assert.throws(
      () => input.finish(),
      (e: unknown) => e instanceof UpdateDecodeError && e.code === "MALFORMED",
    );
    const short = new BitReader(Uint8Array.of(0), 0, 1);
    short.bits(8);
    assert.throws(
      () => short.bit(),
      (e: unknown) => e instanceof UpdateDecodeError && e.code === "TRUNCATED",
    );
  });
});
