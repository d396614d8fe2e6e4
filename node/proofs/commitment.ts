/**
 * Update commitments (docs/protocol.md §4): the fixed-point update is cut into chunks of CHUNK_SIZE values
 * (the last padded with encoded zeros), each chunk is packed VALUES_PER_FIELD values per field element
 * (little-endian in VALUE_BITS slots) and hashed with Poseidon, exactly as the circuit does; the commitment
 * is the keccak256 Merkle root over the chunk hashes (as bytes32, big-endian), padded with zero leaves to a
 * power of two. Poseidon inside the circuit, keccak on chain: each side uses the hash that is cheap for it.
 */
import type { buildPoseidon } from "circomlibjs";
import { keccak256, concatHex, numberToHex } from "viem";
import type { Hex } from "viem";

import { commitOffThread } from "./commit-pool.ts";
import type { CommitPriority } from "./commit-pool.ts";
import { CHUNK_SIZE, VALUE_BITS, VALUE_OFFSET, VALUES_PER_FIELD } from "./constants.ts";

type Poseidon = Awaited<ReturnType<typeof buildPoseidon>>;
let poseidonPromise: Promise<Poseidon> | undefined;

/**
 * The circomlibjs Poseidon instance (built once; it compiles its constants). Imported on first use: circomlibjs
 * loads ethers and ffjavascript (~130 modules, 0.33 of the 1.4 CPU s a node process spent importing its runtime,
 * 2026-12-06), which a starting node, the CLI and every restart would otherwise pay before they need a hash.
 */
export function getPoseidon(): Promise<Poseidon> {
  poseidonPromise ??= import("circomlibjs").then((circomlib) => circomlib.buildPoseidon());
  return poseidonPromise;
}

/** Number of chunks of a vector of `length` values. */
export function chunkCount(length: number): number {
  return Math.max(1, Math.ceil(length / CHUNK_SIZE));
}

/**
 * Chunk `index` of an encoded update, padded with encoded zeros to `chunkSize` values. The node always uses
 * CHUNK_SIZE; other sizes exist for circuit variants measured by `npm run bench:zk`.
 */
export function chunkValues(
  encoded: Uint16Array,
  index: number,
  chunkSize: number = CHUNK_SIZE,
): Uint16Array {
  const out = new Uint16Array(chunkSize).fill(VALUE_OFFSET);
  out.set(encoded.subarray(index * chunkSize, Math.min(encoded.length, (index + 1) * chunkSize)));
  return out;
}

/** The field elements a chunk is packed into (the Poseidon inputs). */
export function packChunk(chunk: Uint16Array): bigint[] {
  const elements: bigint[] = [];
  for (let start = 0; start < chunk.length; start += VALUES_PER_FIELD) {
    let acc = 0n;
    const end = Math.min(chunk.length, start + VALUES_PER_FIELD);
    for (let i = end - 1; i >= start; i--) acc = (acc << BigInt(VALUE_BITS)) | BigInt(chunk[i]!);
    elements.push(acc);
  }
  return elements;
}

/** Poseidon hash of one chunk, as a field element. */
export async function hashChunk(chunk: Uint16Array): Promise<bigint> {
  const poseidon = await getPoseidon();
  return poseidon.F.toObject(poseidon(packChunk(chunk))) as bigint;
}

/** A field element as bytes32. */
export function fieldToBytes32(value: bigint): Hex {
  return numberToHex(value, { size: 32 });
}

/** keccak256 Merkle tree over bytes32 leaves, padded with zero leaves to a power of two. */
export function merkleLevels(leaves: readonly Hex[]): Hex[][] {
  let width = 1;
  while (width < leaves.length) width *= 2;
  const zero = fieldToBytes32(0n);
  let level: Hex[] = [...leaves, ...Array<Hex>(width - leaves.length).fill(zero)];
  const levels = [level];
  while (level.length > 1) {
    const next: Hex[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(keccak256(concatHex([level[i]!, level[i + 1]!])));
    level = next;
    levels.push(level);
  }
  return levels;
}

/** Sibling hashes from leaf `index` to the root. */
export function merklePath(levels: readonly Hex[][], index: number): Hex[] {
  const path: Hex[] = [];
  let i = index;
  for (let d = 0; d < levels.length - 1; d++) {
    path.push(levels[d]![i ^ 1]!);
    i >>= 1;
  }
  return path;
}

/** Recomputes a root from a leaf and its path (what the verifier contract does). */
export function merkleRootFromPath(leaf: Hex, index: number, path: readonly Hex[]): Hex {
  let node = leaf;
  let i = index;
  for (const sibling of path) {
    node = keccak256(i % 2 === 0 ? concatHex([node, sibling]) : concatHex([sibling, node]));
    i >>= 1;
  }
  return node;
}

/** A committed update: its chunk hashes, Merkle levels and root (the on-chain commitment). */
export interface UpdateCommitment {
  readonly root: Hex;
  readonly chunkHashes: readonly bigint[];
  readonly levels: readonly Hex[][];
}

/**
 * Commits to an encoded update: in the process's commitment pool (commit-pool.ts) at `priority` (`urgent` when a
 * round waits on it: a trainer's own update, the aggregator's inputs and aggregate), so the event loop stays free
 * for the node's ticks and streams, or on this thread when there is no worker.
 */
export async function commitEncoded(
  encoded: Uint16Array,
  priority: CommitPriority = "background",
): Promise<UpdateCommitment> {
  return (await commitOffThread(encoded, priority)) ?? commitEncodedHere(encoded);
}

/** Commits to an encoded update on the calling thread (the commitment worker's own computation). */
export async function commitEncodedHere(encoded: Uint16Array): Promise<UpdateCommitment> {
  const chunkHashes: bigint[] = [];
  for (let c = 0; c < chunkCount(encoded.length); c++)
    chunkHashes.push(await hashChunk(chunkValues(encoded, c)));
  const levels = merkleLevels(chunkHashes.map(fieldToBytes32));
  return { root: levels.at(-1)![0]!, chunkHashes, levels };
}
