/**
 * Capability attestation: a node's advertised speed is checked by timing a short, deterministic training
 * workload chosen by the verifier, not trusted as claimed.
 *
 * 1. The verifier sends a challenge with a fresh random seed (so nothing can be precomputed).
 * 2. The prover runs `blocks` independent blocks; each block trains a small MLP (ReLU, squared loss, plain
 *    SGD — no transcendental functions, so IEEE-754 double arithmetic makes it bit-identical on every
 *    platform) for `blockSamples` steps on data derived from (seed, block), and hashes the final weights.
 * 3. The verifier recomputes some or all blocks (chosen after the answer arrives), checks the hashes, and
 *    bounds the speed by its *own* clock: samples / (observed wall time − round-trip time). A prover cannot
 *    look faster than the verifier saw it answer; skipping blocks to answer early is caught per checked block.
 */
import { createHash, randomBytes } from "node:crypto";

import { z } from "zod";

import {
  ATTESTATION_BLOCKS,
  ATTESTATION_BLOCK_SAMPLES,
  ATTESTATION_LAYERS,
  ATTESTATION_MAX_AGE_MS,
  ATTESTATION_SPEED_TOLERANCE,
} from "./constants.ts";
import { SchedulingError } from "./errors.ts";

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`));

export const attestationChallengeSchema = z
  .object({
    version: z.literal(1),
    seed: hex(32),
    blocks: z.number().int().min(1).max(1024),
    blockSamples: z.number().int().min(1).max(65_536),
    issuedAtMs: z.number().int().nonnegative(),
  })
  .strict();
export type AttestationChallenge = z.output<typeof attestationChallengeSchema>;

export const attestationResponseSchema = z
  .object({
    seed: hex(32),
    blockHashes: z.array(hex(32)).max(1024),
    resultHash: hex(32),
    /** The prover's own timing; informative only (the verifier trusts its clock). */
    elapsedMs: z.number().nonnegative(),
  })
  .strict();
export type AttestationResponse = z.output<typeof attestationResponseSchema>;

/** Creates a challenge with a fresh random seed. */
export function createChallenge(
  options: { blocks?: number; blockSamples?: number; nowMs?: number } = {},
): AttestationChallenge {
  return attestationChallengeSchema.parse({
    version: 1,
    seed: randomBytes(32).toString("hex"),
    blocks: options.blocks ?? ATTESTATION_BLOCKS,
    blockSamples: options.blockSamples ?? ATTESTATION_BLOCK_SAMPLES,
    issuedAtMs: options.nowMs ?? Date.now(),
  });
}

/** Reference samples per block × blocks: the unit of attested speed is "reference samples per second". */
export function challengeSamples(challenge: AttestationChallenge): number {
  return challenge.blocks * challenge.blockSamples;
}

/** xorshift128 seeded from a hash: a deterministic double generator in [0, 1). */
class BlockRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  constructor(digest: Buffer) {
    this.s0 = digest.readUInt32LE(0) | 1;
    this.s1 = digest.readUInt32LE(4);
    this.s2 = digest.readUInt32LE(8);
    this.s3 = digest.readUInt32LE(12);
  }
  next(): number {
    let t = this.s3;
    const s = this.s0;
    this.s3 = this.s2;
    this.s2 = this.s1;
    this.s1 = s;
    t ^= t << 11;
    t ^= t >>> 8;
    this.s0 = (t ^ s ^ (s >>> 19)) >>> 0;
    return this.s0 / 4294967296;
  }
}

function blockRng(seed: string, label: string, index: number): BlockRng {
  return new BlockRng(createHash("sha256").update(`vain-attest-v1|${seed}|${label}|${index}`).digest());
}

/** Runs one block of the workload and returns its hash (hex). Exported so verifiers can recompute any block. */
export function runBlock(seed: string, blockSamples: number, index: number): string {
  const [d0, d1, d2] = ATTESTATION_LAYERS;
  const init = blockRng(seed, "init", 0);
  const w1 = new Float64Array(d0 * d1).map(() => (init.next() - 0.5) * 0.2);
  const w2 = new Float64Array(d1 * d2).map(() => (init.next() - 0.5) * 0.2);
  const data = blockRng(seed, "data", index);
  const x = new Float64Array(d0);
  const h = new Float64Array(d1);
  const y = new Float64Array(d2);
  const gy = new Float64Array(d2);
  const gh = new Float64Array(d1);
  const lr = 0.01;
  for (let s = 0; s < blockSamples; s++) {
    for (let i = 0; i < d0; i++) x[i] = data.next();
    const label = Math.floor(data.next() * d2);
    for (let j = 0; j < d1; j++) {
      let acc = 0;
      for (let i = 0; i < d0; i++) acc += x[i]! * w1[i * d1 + j]!;
      h[j] = acc > 0 ? acc : 0;
    }
    for (let k = 0; k < d2; k++) {
      let acc = 0;
      for (let j = 0; j < d1; j++) acc += h[j]! * w2[j * d2 + k]!;
      y[k] = acc;
      gy[k] = acc - (k === label ? 1 : 0);
    }
    for (let j = 0; j < d1; j++) {
      let acc = 0;
      for (let k = 0; k < d2; k++) acc += gy[k]! * w2[j * d2 + k]!;
      gh[j] = h[j]! > 0 ? acc : 0;
    }
    for (let j = 0; j < d1; j++) {
      const hj = h[j]! * lr;
      for (let k = 0; k < d2; k++) w2[j * d2 + k] = w2[j * d2 + k]! - hj * gy[k]!;
    }
    for (let i = 0; i < d0; i++) {
      const xi = x[i]! * lr;
      for (let j = 0; j < d1; j++) w1[i * d1 + j] = w1[i * d1 + j]! - xi * gh[j]!;
    }
  }
  const out = Buffer.alloc((w1.length + w2.length) * 8);
  w1.forEach((v, i) => out.writeDoubleLE(v, i * 8));
  w2.forEach((v, i) => out.writeDoubleLE(v, (w1.length + i) * 8));
  return createHash("sha256").update(out).digest("hex");
}

/** Hash binding the seed and every block hash, in order. */
export function resultHashOf(seed: string, blockHashes: readonly string[]): string {
  return createHash("sha256")
    .update(`vain-attest-v1|${seed}|${blockHashes.join(",")}`)
    .digest("hex");
}

/**
 * Prover side: runs the whole workload. Synchronous and CPU-bound (tens of ms by default); run it in a worker
 * thread where the event loop must stay responsive. `shouldStop` is polled between blocks.
 */
export function runAttestation(
  challenge: AttestationChallenge,
  shouldStop?: () => boolean,
): AttestationResponse {
  const c = parseChallenge(challenge);
  const start = performance.now();
  const blockHashes: string[] = [];
  for (let b = 0; b < c.blocks; b++) {
    if (shouldStop?.() === true) throw new SchedulingError("ATTESTATION_MALFORMED", "attestation cancelled");
    blockHashes.push(runBlock(c.seed, c.blockSamples, b));
  }
  return {
    seed: c.seed,
    blockHashes,
    resultHash: resultHashOf(c.seed, blockHashes),
    elapsedMs: performance.now() - start,
  };
}

function parseChallenge(challenge: unknown): AttestationChallenge {
  const parsed = attestationChallengeSchema.safeParse(challenge);
  if (!parsed.success) {
    throw new SchedulingError(
      "ATTESTATION_MALFORMED",
      `invalid challenge: ${parsed.error.issues[0]?.path.join(".") || "root"}: ${parsed.error.issues[0]?.message ?? "?"}`,
    );
  }
  return parsed.data;
}

export interface VerifyAttestationOptions {
  /**
   * Wall time the verifier observed between sending the challenge and receiving the answer, in ms.
   * This, not the prover's `elapsedMs`, bounds the attested speed.
   */
  readonly observedMs: number;
  /** Network round-trip time to subtract (measured by ping); default 0 (conservative for the prover). */
  readonly rttMs?: number;
  /** Blocks to recompute (random, chosen now, after the answer); default all. */
  readonly checkBlocks?: number;
  /** The speed the node claims (reference samples per second); checked against the measured bound. */
  readonly claimedSamplesPerSec?: number;
  readonly nowMs?: number;
}

export interface AttestationVerdict {
  /** Reference samples per second, from the verifier's clock. */
  readonly measuredSamplesPerSec: number;
  /** Blocks recomputed and matched. */
  readonly checkedBlocks: number;
  /** When a claim was given: the claim is within tolerance of the measurement. */
  readonly claimConsistent: boolean | undefined;
}

/**
 * Verifier side. Throws `SchedulingError` on a wrong seed, a wrong block or result hash
 * (`ATTESTATION_WRONG_RESULT`), a stale challenge, or a prover claiming to be faster than the verifier saw
 * (`ATTESTATION_TOO_FAST`: its own `elapsedMs` is below what the verifier's clock allows).
 */
export function verifyAttestation(
  challenge: AttestationChallenge,
  response: unknown,
  options: VerifyAttestationOptions,
): AttestationVerdict {
  const c = parseChallenge(challenge);
  const parsed = attestationResponseSchema.safeParse(response);
  if (!parsed.success) {
    throw new SchedulingError(
      "ATTESTATION_MALFORMED",
      `invalid attestation response: ${parsed.error.issues[0]?.path.join(".") || "root"}`,
    );
  }
  const r = parsed.data;
  const nowMs = options.nowMs ?? Date.now();
  if (nowMs - c.issuedAtMs > ATTESTATION_MAX_AGE_MS) {
    throw new SchedulingError("ATTESTATION_MALFORMED", "attestation answered after the challenge expired");
  }
  if (r.seed !== c.seed)
    throw new SchedulingError("ATTESTATION_WRONG_RESULT", "attestation answers another seed");
  if (r.blockHashes.length !== c.blocks) {
    throw new SchedulingError(
      "ATTESTATION_WRONG_RESULT",
      `attestation has ${r.blockHashes.length} block hashes, expected ${c.blocks}`,
    );
  }
  if (resultHashOf(c.seed, r.blockHashes) !== r.resultHash) {
    throw new SchedulingError("ATTESTATION_WRONG_RESULT", "attestation result hash does not bind its blocks");
  }
  const check = Math.min(c.blocks, Math.max(1, options.checkBlocks ?? c.blocks));
  const order = [...Array(c.blocks).keys()];
  for (let i = order.length - 1; i > 0; i--) {
    const j = randomBytes(4).readUInt32LE(0) % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const b of order.slice(0, check)) {
    if (runBlock(c.seed, c.blockSamples, b) !== r.blockHashes[b]) {
      throw new SchedulingError("ATTESTATION_WRONG_RESULT", `attestation block ${b} is wrong`);
    }
  }
  const computeMs = Math.max(1e-3, options.observedMs - (options.rttMs ?? 0));
  if (r.elapsedMs > computeMs * (1 + ATTESTATION_SPEED_TOLERANCE) + 5) {
    throw new SchedulingError(
      "ATTESTATION_TOO_FAST",
      `prover reports ${r.elapsedMs.toFixed(1)} ms of work but answered in ${computeMs.toFixed(1)} ms`,
    );
  }
  const measured = (challengeSamples(c) * 1000) / computeMs;
  return {
    measuredSamplesPerSec: measured,
    checkedBlocks: check,
    claimConsistent:
      options.claimedSamplesPerSec === undefined
        ? undefined
        : options.claimedSamplesPerSec <= measured * (1 + ATTESTATION_SPEED_TOLERANCE),
  };
}
