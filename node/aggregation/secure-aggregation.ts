/**
 * Secure aggregation in the style of Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving
 * Machine Learning" (CCS 2017): every pair of participants agrees on a seed by X25519; each participant adds
 * the pair's pseudo-random mask with opposite signs, so masks cancel in the sum and the aggregator learns
 * only the sum. Each participant Shamir-shares its X25519 secret key among the others, so when participants
 * drop out after masking, `threshold` survivors can rebuild a dropped key and remove its dangling masks.
 *
 * Arithmetic is in the ring Z/2^48 over the weighted values w · u of the one fixed-point encoding shared with
 * the proofs (fixed-point.ts): masks cancel exactly, and the unmasked sum Σ w_k · u_k decodes to the aggregate
 * the circuit checks, bit for bit (`decodeWeightedSum`).
 * Gap (documented in docs/protocol.md §8): no per-participant self-mask, so the aggregator must fix the
 * dropout set before it asks for shares, and survivors refuse to reveal shares of a participant whose
 * masked input they were told arrived.
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { SECAGG_RING_MODULUS, ringAdd, ringSub, weightedRingVector } from "./secagg-ring.ts";

/** Mersenne prime 2^127 - 1: the field for Shamir shares of each 15-byte key chunk. */
const FIELD_PRIME = (1n << 127n) - 1n;
/** Key bytes per field element (120 bits < 127). */
const CHUNK_BYTES = 15;
const KEY_BYTES = 32;

export class SecureAggregationError extends Error {
  override readonly name = "SecureAggregationError";
  readonly code = "SECURE_AGGREGATION";
}

export interface SecAggKeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** A fresh X25519 key pair for one round. */
export function generateKeyPair(): SecAggKeyPair {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** The pair seed of `self` with `peer`, bound to the round (same value on both sides). */
export function pairSeed(secretKey: Uint8Array, peerPublicKey: Uint8Array, roundId: bigint): Uint8Array {
  const shared = x25519.getSharedSecret(secretKey, peerPublicKey);
  return hkdf(sha256, shared, undefined, new TextEncoder().encode(`vain-secagg-round-${roundId}`), 32);
}

/** Bytes of pseudo-random stream per ring element (48 bits). */
const ELEMENT_BYTES = 6;
/** Whole ring elements per SHA-256 block (5 × 6 = 30 of its 32 bytes). */
const ELEMENTS_PER_BLOCK = Math.floor(32 / ELEMENT_BYTES);

/** `length` uniformly random ring elements in [0, 2^48) from a seed (SHA-256 in counter mode). */
export function expandMask(seed: Uint8Array, length: number): Float64Array {
  const out = new Float64Array(length);
  const block = new Uint8Array(seed.length + 4);
  block.set(seed);
  const view = new DataView(block.buffer);
  for (let counter = 0; counter * ELEMENTS_PER_BLOCK < length; counter++) {
    view.setUint32(seed.length, counter, false);
    const digest = sha256(block);
    for (let e = 0; e < ELEMENTS_PER_BLOCK && counter * ELEMENTS_PER_BLOCK + e < length; e++) {
      let v = 0;
      for (let b = 0; b < ELEMENT_BYTES; b++) v = v * 256 + digest[e * ELEMENT_BYTES + b]!;
      out[counter * ELEMENTS_PER_BLOCK + e] = v;
    }
  }
  return out;
}

/**
 * Participant `index` masks its weighted, encoded update w · u: + mask for higher-indexed peers, − for lower
 * (mod 2^48). `weight` is its public on-chain weight (the capped sample count); `update` is the float update
 * or its already encoded 16-bit form.
 */
export function maskUpdate(
  update: Float32Array | Uint16Array,
  weight: number,
  index: number,
  keyPair: SecAggKeyPair,
  publicKeys: readonly Uint8Array[],
  roundId: bigint,
): Float64Array {
  const masked = weightedRingVector(update, weight);
  publicKeys.forEach((peerKey, peer) => {
    if (peer === index) return;
    const mask = expandMask(pairSeed(keyPair.secretKey, peerKey, roundId), update.length);
    const op = peer > index ? ringAdd : ringSub;
    for (let i = 0; i < masked.length; i++) masked[i] = op(masked[i]!, mask[i]!);
  });
  return masked;
}

export interface Share {
  readonly x: number;
  /** One field element per key chunk. */
  readonly y: readonly bigint[];
}

function mod(a: bigint): bigint {
  const r = a % FIELD_PRIME;
  return r < 0n ? r + FIELD_PRIME : r;
}

function randomFieldElement(): bigint {
  const bytes = x25519.utils.randomSecretKey().subarray(0, 16);
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return mod(v);
}

function modPow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = mod(result * b);
    b = mod(b * b);
    e >>= 1n;
  }
  return result;
}

function keyChunks(key: Uint8Array): bigint[] {
  if (key.length !== KEY_BYTES) throw new SecureAggregationError(`key must be ${KEY_BYTES} bytes`);
  const chunks: bigint[] = [];
  for (let start = 0; start < KEY_BYTES; start += CHUNK_BYTES) {
    let v = 0n;
    for (const b of key.subarray(start, Math.min(start + CHUNK_BYTES, KEY_BYTES))) v = (v << 8n) | BigInt(b);
    chunks.push(v);
  }
  return chunks;
}

function chunksToKey(chunks: readonly bigint[]): Uint8Array {
  const key = new Uint8Array(KEY_BYTES);
  chunks.forEach((chunk, c) => {
    const start = c * CHUNK_BYTES;
    const len = Math.min(CHUNK_BYTES, KEY_BYTES - start);
    let v = chunk;
    for (let i = len - 1; i >= 0; i--) {
      key[start + i] = Number(v & 0xffn);
      v >>= 8n;
    }
  });
  return key;
}

/** Splits a secret key into `count` Shamir shares (x = 1..count), any `threshold` of which rebuild it. */
export function shareSecret(key: Uint8Array, count: number, threshold: number): Share[] {
  if (!(threshold >= 2 && threshold <= count))
    throw new SecureAggregationError(`need 2 <= threshold <= count (${threshold}, ${count})`);
  const polys = keyChunks(key).map((secret) => [
    secret,
    ...Array.from({ length: threshold - 1 }, randomFieldElement),
  ]);
  return Array.from({ length: count }, (_, i) => {
    const x = BigInt(i + 1);
    return {
      x: i + 1,
      y: polys.map((coeffs) => coeffs.reduceRight((acc, c) => mod(acc * x + c), 0n)),
    };
  });
}

/** Rebuilds a key from at least `threshold` shares (Lagrange interpolation at 0). */
export function reconstructSecret(shares: readonly Share[]): Uint8Array {
  if (shares.length < 2) throw new SecureAggregationError("need at least 2 shares");
  const chunks = shares[0]!.y.map((_, c) => {
    let secret = 0n;
    for (const si of shares) {
      let num = 1n;
      let den = 1n;
      for (const sj of shares) {
        if (sj.x === si.x) continue;
        num = mod(num * BigInt(-sj.x));
        den = mod(den * BigInt(si.x - sj.x));
      }
      secret = mod(secret + si.y[c]! * num * modPow(den, FIELD_PRIME - 2n));
    }
    return secret;
  });
  return chunksToKey(chunks);
}

/**
 * The aggregator's unmasking: sums the survivors' masked vectors and removes the masks survivors shared
 * with dropped participants, using each dropped participant's rebuilt secret key. Returns the ring sum
 * Σ w_k · u_k over the survivors; `decodeWeightedSum(sum, W)` turns it into the proof's aggregate.
 */
export function unmaskSum(
  masked: ReadonlyMap<number, Float64Array>,
  publicKeys: readonly Uint8Array[],
  droppedKeys: ReadonlyMap<number, Uint8Array>,
  roundId: bigint,
): Float64Array {
  const first = masked.values().next().value;
  if (first === undefined) throw new SecureAggregationError("no masked inputs");
  const sum = new Float64Array(first.length);
  for (const vector of masked.values()) {
    if (vector.length !== sum.length) throw new SecureAggregationError("masked inputs differ in length");
    for (let i = 0; i < sum.length; i++) {
      const v = vector[i]!;
      if (!(Number.isInteger(v) && v >= 0 && v < SECAGG_RING_MODULUS))
        throw new SecureAggregationError(`masked value at ${i} is not a ring element`);
      sum[i] = ringAdd(sum[i]!, v);
    }
  }
  for (const [dropped, secretKey] of droppedKeys) {
    if (masked.has(dropped))
      throw new SecureAggregationError(`participant ${dropped} both survived and dropped`);
    for (const survivor of masked.keys()) {
      const mask = expandMask(pairSeed(secretKey, publicKeys[survivor]!, roundId), sum.length);
      // The survivor added +mask if dropped > survivor, −mask otherwise: undo it.
      const op = dropped > survivor ? ringSub : ringAdd;
      for (let i = 0; i < sum.length; i++) sum[i] = op(sum[i]!, mask[i]!);
    }
  }
  return sum;
}
