/**
 * Signed capacity records. A node advertises what it can do in a record signed with its libp2p Ed25519 key;
 * the speed that scheduling uses is not the node's claim but the median of attestation receipts: statements
 * signed by other nodes that ran an attestation challenge (attestation.ts) against it and measured it with their
 * own clocks. A node can only inflate its capacity by colluding with most of its verifiers.
 */
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { z } from "zod";

import { CAPACITY_RECORD_TTL_MS, MAX_RECEIPTS, RECEIPT_MAX_AGE_MS } from "./constants.ts";
import { SchedulingError } from "./errors.ts";

const hexBytes = z.string().regex(/^([0-9a-f]{2})+$/);

/** A verifier's signed statement: "I challenged `subject` with `seed` and measured this speed". */
export const attestationReceiptBodySchema = z
  .object({
    version: z.literal(1),
    subject: z.string().min(1).max(128),
    verifier: z.string().min(1).max(128),
    seed: z.string().regex(/^[0-9a-f]{64}$/),
    resultHash: z.string().regex(/^[0-9a-f]{64}$/),
    /** Reference samples per second (attestation workload), from the verifier's clock. */
    samplesPerSec: z.number().positive().finite(),
    atMs: z.number().int().nonnegative(),
  })
  .strict();
export type AttestationReceiptBody = z.output<typeof attestationReceiptBodySchema>;
export const attestationReceiptSchema = attestationReceiptBodySchema.extend({ signature: hexBytes }).strict();
export type AttestationReceipt = z.output<typeof attestationReceiptSchema>;

/** What a node advertises about itself. */
export const capacityRecordBodySchema = z
  .object({
    version: z.literal(1),
    peerId: z.string().min(1).max(128),
    operator: z
      .string()
      .regex(/^0x[0-9a-fA-F]{40}$/)
      .optional(),
    /** Increases with every re-issue; a receiver keeps the highest. */
    seq: z.number().int().nonnegative(),
    issuedAtMs: z.number().int().nonnegative(),
    expiresAtMs: z.number().int().nonnegative(),
    /** Self-reported figures: informative, and an upper bound (a node may always be slower than it says). */
    claimed: z
      .object({
        samplesPerSec: z.number().positive().finite(),
        threads: z.number().int().positive(),
        memoryBytes: z.number().int().positive(),
        bandwidthBytesPerSec: z.number().positive(),
      })
      .strict(),
    /** Volunteers to be a (sub-)aggregator this period (opt-in on chain is separate). */
    aggregatorOptIn: z.boolean(),
    lowPower: z.boolean(),
    receipts: z.array(attestationReceiptSchema).max(MAX_RECEIPTS),
    /**
     * Fingerprint of the node's training data (node/runtime/data-fingerprint.ts): two nodes with the same one
     * train the same shard, a misconfiguration the receivers warn about. Equality only: it says nothing else.
     */
    dataFingerprint: z
      .string()
      .regex(/^[0-9a-f]{16}$/)
      .optional(),
  })
  .strict();
export type CapacityRecordBody = z.output<typeof capacityRecordBodySchema>;
export const signedCapacityRecordSchema = capacityRecordBodySchema.extend({ signature: hexBytes }).strict();
export type SignedCapacityRecord = z.output<typeof signedCapacityRecordSchema>;

const RECORD_DOMAIN = "vain-capacity-v1\n";
const RECEIPT_DOMAIN = "vain-attestation-receipt-v1\n";

/** Canonical bytes: domain tag + JSON of the zod-parsed body (zod emits keys in schema order). */
function canonical(domain: string, body: unknown): Uint8Array {
  return new TextEncoder().encode(domain + JSON.stringify(body));
}

function fail(code: SchedulingError["code"], message: string): never {
  throw new SchedulingError(code, message);
}

function parseOrFail<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(
      "CAPACITY_RECORD_MALFORMED",
      `${what} invalid at ${issue?.path.join(".") || "root"}: ${issue?.message ?? "?"}`,
    );
  }
  return parsed.data;
}

async function verifySignature(peerId: string, bytes: Uint8Array, signatureHex: string): Promise<boolean> {
  try {
    const publicKey = peerIdFromString(peerId).publicKey;
    if (publicKey === undefined) return false; // RSA/secp IDs without an inline key are not accepted
    return await publicKey.verify(bytes, new Uint8Array(Buffer.from(signatureHex, "hex")));
  } catch {
    return false;
  }
}

/** Verifier side: signs a receipt for a successful attestation with the verifier's node key. */
export async function signReceipt(
  verifierKey: PrivateKey,
  body: Omit<AttestationReceiptBody, "version" | "verifier">,
): Promise<AttestationReceipt> {
  const full = parseOrFail(
    attestationReceiptBodySchema,
    { version: 1, verifier: peerIdFromPrivateKey(verifierKey).toString(), ...body },
    "receipt",
  );
  const signature = await verifierKey.sign(canonical(RECEIPT_DOMAIN, full));
  return { ...full, signature: Buffer.from(signature).toString("hex") };
}

/** Checks a receipt's signature against its verifier's peer ID. */
export async function verifyReceipt(receipt: unknown): Promise<AttestationReceipt> {
  const r = parseOrFail(attestationReceiptSchema, receipt, "receipt");
  const { signature, ...body } = r;
  if (!(await verifySignature(r.verifier, canonical(RECEIPT_DOMAIN, body), signature))) {
    fail("CAPACITY_RECORD_BAD_SIGNATURE", `receipt from ${r.verifier} does not verify`);
  }
  return r;
}

/** Signs a capacity record with the node's key; `peerId` is taken from the key. */
export async function signCapacityRecord(
  nodeKey: PrivateKey,
  body: Omit<CapacityRecordBody, "version" | "peerId" | "expiresAtMs"> & { expiresAtMs?: number },
): Promise<SignedCapacityRecord> {
  const full = parseOrFail(
    capacityRecordBodySchema,
    {
      version: 1,
      peerId: peerIdFromPrivateKey(nodeKey).toString(),
      ...body,
      expiresAtMs: body.expiresAtMs ?? body.issuedAtMs + CAPACITY_RECORD_TTL_MS,
    },
    "capacity record",
  );
  const signature = await nodeKey.sign(canonical(RECORD_DOMAIN, full));
  return { ...full, signature: Buffer.from(signature).toString("hex") };
}

/** Encodes a signed record for the wire (gossip payload or DHT value). */
export function encodeCapacityRecord(record: SignedCapacityRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(record));
}

/**
 * Parses and verifies a received record: schema, the node's signature, expiry. Receipts are verified
 * separately by {@link attestedCapacity} (an invalid receipt voids only itself, not the record).
 */
export async function verifyCapacityRecord(
  input: Uint8Array | unknown,
  nowMs: number = Date.now(),
): Promise<SignedCapacityRecord> {
  let raw: unknown = input;
  if (input instanceof Uint8Array) {
    try {
      raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(input));
    } catch {
      fail("CAPACITY_RECORD_MALFORMED", "capacity record is not UTF-8 JSON");
    }
  }
  const record = parseOrFail(signedCapacityRecordSchema, raw, "capacity record");
  const { signature, ...body } = record;
  if (!(await verifySignature(record.peerId, canonical(RECORD_DOMAIN, body), signature))) {
    fail("CAPACITY_RECORD_BAD_SIGNATURE", `capacity record of ${record.peerId} does not verify`);
  }
  if (nowMs > record.expiresAtMs) {
    fail("CAPACITY_RECORD_EXPIRED", `capacity record of ${record.peerId} expired at ${record.expiresAtMs}`);
  }
  return record;
}

export interface AttestedCapacity {
  /** Median of valid receipts' speeds, capped by the claim; 0 when there are none. */
  readonly samplesPerSec: number;
  /** Distinct verifiers whose receipts counted. */
  readonly verifiers: number;
  /** Receipts that were ignored and why. */
  readonly rejected: readonly { readonly verifier: string; readonly reason: string }[];
}

/**
 * The capacity scheduling may rely on: the median speed over valid receipts about this record's node from
 * distinct verifiers that `trusted` accepts (e.g. staked peers with reputation), not older than
 * `maxAgeMs`, never more than the node's own claim. A node without receipts gets 0: it must be attested first.
 */
export async function attestedCapacity(
  record: SignedCapacityRecord,
  options: { nowMs?: number; maxAgeMs?: number; trusted?: (verifier: string) => boolean } = {},
): Promise<AttestedCapacity> {
  const nowMs = options.nowMs ?? Date.now();
  const maxAge = options.maxAgeMs ?? RECEIPT_MAX_AGE_MS;
  const byVerifier = new Map<string, number>();
  const rejected: { verifier: string; reason: string }[] = [];
  for (const receipt of record.receipts) {
    const reject = (reason: string) => rejected.push({ verifier: receipt.verifier, reason });
    if (receipt.subject !== record.peerId) reject("receipt is about another node");
    else if (receipt.verifier === record.peerId) reject("self-attestation");
    else if (nowMs - receipt.atMs > maxAge || receipt.atMs > nowMs + 60_000)
      reject("receipt too old or from the future");
    else if (options.trusted !== undefined && !options.trusted(receipt.verifier))
      reject("verifier not trusted");
    else if (byVerifier.has(receipt.verifier)) reject("duplicate verifier");
    else {
      try {
        await verifyReceipt(receipt);
        byVerifier.set(receipt.verifier, receipt.samplesPerSec);
      } catch (error) {
        reject((error as Error).message);
      }
    }
  }
  const speeds = [...byVerifier.values()].sort((a, b) => a - b);
  const n = speeds.length;
  const median = n === 0 ? 0 : n % 2 === 1 ? speeds[(n - 1) / 2]! : (speeds[n / 2 - 1]! + speeds[n / 2]!) / 2;
  return { samplesPerSec: Math.min(median, record.claimed.samplesPerSec), verifiers: n, rejected };
}
