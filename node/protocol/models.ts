/**
 * Global models as content: parameters travel as little-endian float32 bytes. A task's initial model is named
 * on chain by `modelRef = sha256(bytes)` (docs/protocol.md §7); each round's model by the ref the chain derives
 * from its base and aggregate (round/next-model.ts). A store keeps the models this node can serve.
 */
import { createHash } from "node:crypto";

import type { Hex } from "viem";

export class ModelFormatError extends Error {
  override readonly name = "ModelFormatError";
}

export function paramsToBytes(params: Float32Array): Uint8Array {
  const out = new Uint8Array(params.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < params.length; i++) view.setFloat32(i * 4, params[i]!, true);
  return out;
}

export function bytesToParams(bytes: Uint8Array, expectedSize: number): Float32Array {
  if (bytes.length !== expectedSize * 4)
    throw new ModelFormatError(`model has ${bytes.length} bytes, expected ${expectedSize * 4}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(expectedSize);
  for (let i = 0; i < expectedSize; i++) {
    const value = view.getFloat32(i * 4, true);
    if (!Number.isFinite(value)) throw new ModelFormatError(`parameter ${i} is not finite`);
    out[i] = value;
  }
  return out;
}

/** The on-chain name of a model: sha256 of its bytes, as bytes32. */
export function modelRef(bytes: Uint8Array): Hex {
  return `0x${createHash("sha256").update(bytes).digest("hex")}`;
}

/**
 * Models by modelRef, served to peers by content hash. A task's initial model is named by its content hash; a
 * round's model by the ref the chain derived (round/next-model.ts), under which `put` files it. Bounded: the
 * least recently used model is dropped first. Insertion order alone dropped the task's current model in a run of
 * failed rounds (each derives its would-be model while it is challenged), and a node without a store could then no
 * longer train (bench:attacks stopped after 8 cheating rounds waiting for the global model).
 */
export class ModelStore {
  private readonly models = new Map<string, { params: Float32Array; bytes: Uint8Array; sha: string }>();
  private readonly limit: number;

  constructor(limit = 8) {
    this.limit = limit;
  }

  /** Keeps `params` under `ref` (default: their content hash); returns the ref. */
  put(params: Float32Array, ref?: Hex): Hex {
    const bytes = paramsToBytes(params);
    const sha = modelRef(bytes);
    const key = (ref ?? sha).toLowerCase() as Hex;
    this.models.delete(key);
    this.models.set(key, { params, bytes, sha: sha.slice(2) });
    while (this.models.size > this.limit) {
      const oldest = this.models.keys().next().value;
      if (oldest === undefined) break;
      this.models.delete(oldest);
    }
    return key;
  }

  get(ref: Hex): Float32Array | undefined {
    const key = ref.toLowerCase();
    const entry = this.models.get(key);
    if (entry === undefined) return undefined;
    // Most recently used last: the next eviction takes the model nobody asked for longest.
    this.models.delete(key);
    this.models.set(key, entry);
    return entry.params;
  }

  /** Bytes by sha256 hex without 0x (the blob layer's naming), whatever ref the model is kept under. */
  bytesBySha256(sha256: string): Uint8Array | undefined {
    const direct = this.models.get(`0x${sha256}`);
    if (direct !== undefined) return direct.bytes;
    for (const entry of this.models.values()) if (entry.sha === sha256) return entry.bytes;
    return undefined;
  }
}
