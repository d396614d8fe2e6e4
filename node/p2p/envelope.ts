import { ed25519 } from "@noble/curves/ed25519.js";
import { z } from "zod";
import { ENVELOPE_MAX_SKEW_MS, MAX_GOSSIP_PAYLOAD_BYTES } from "./constants.ts";

/** Typed error for rejected envelopes; `code` is machine-readable. */
export class EnvelopeError extends Error {
  readonly code: "ENVELOPE_MALFORMED" | "ENVELOPE_TOO_LARGE" | "ENVELOPE_BAD_SIGNATURE" | "ENVELOPE_STALE";
  constructor(code: EnvelopeError["code"], message: string) {
    super(message);
    this.name = "EnvelopeError";
    this.code = code;
  }
}

const hex = (len: number) => z.string().regex(new RegExp(`^[0-9a-f]{${len}}$`));

/** Wire schema of a signed gossip envelope (JSON, hex-encoded binary fields). */
export const EnvelopeSchema = z.object({
  topic: z.string().min(1).max(128),
  publicKey: hex(64),
  timestampMs: z.number().int().nonnegative(),
  payload: z
    .string()
    .max(MAX_GOSSIP_PAYLOAD_BYTES * 2)
    .regex(/^([0-9a-f]{2})*$/),
  signature: hex(128),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));

/** Bytes that are signed: domain tag, topic and timestamp bind the payload to its context (no cross-topic replay). */
function signingBytes(topic: string, timestampMs: number, payload: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(`vain-envelope-v1\n${topic}\n${timestampMs}\n`);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

/** Signs `payload` for `topic` with an Ed25519 secret key; returns the wire envelope as bytes. */
export function sealEnvelope(
  secretKey: Uint8Array,
  topic: string,
  payload: Uint8Array,
  nowMs = Date.now(),
): Uint8Array {
  if (payload.length > MAX_GOSSIP_PAYLOAD_BYTES) {
    throw new EnvelopeError(
      "ENVELOPE_TOO_LARGE",
      `payload ${payload.length} B exceeds ${MAX_GOSSIP_PAYLOAD_BYTES} B`,
    );
  }
  const signature = ed25519.sign(signingBytes(topic, nowMs, payload), secretKey);
  const env: Envelope = {
    topic,
    publicKey: toHex(ed25519.getPublicKey(secretKey)),
    timestampMs: nowMs,
    payload: toHex(payload),
    signature: toHex(signature),
  };
  return new TextEncoder().encode(JSON.stringify(env));
}

/** Parses and verifies an envelope received on `topic`; throws EnvelopeError on any defect. */
export function openEnvelope(
  bytes: Uint8Array,
  topic: string,
  nowMs = Date.now(),
): { publicKey: Uint8Array; payload: Uint8Array; timestampMs: number } {
  if (bytes.length > MAX_GOSSIP_PAYLOAD_BYTES * 2 + 1024) {
    throw new EnvelopeError("ENVELOPE_TOO_LARGE", `envelope ${bytes.length} B too large`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new EnvelopeError("ENVELOPE_MALFORMED", "envelope is not UTF-8 JSON");
  }
  const parsed = EnvelopeSchema.safeParse(raw);
  if (!parsed.success)
    throw new EnvelopeError(
      "ENVELOPE_MALFORMED",
      `envelope invalid: ${parsed.error.issues[0]?.message ?? "?"}`,
    );
  const env = parsed.data;
  if (env.topic !== topic)
    throw new EnvelopeError("ENVELOPE_MALFORMED", `envelope topic ${env.topic} != ${topic}`);
  if (Math.abs(nowMs - env.timestampMs) > ENVELOPE_MAX_SKEW_MS) {
    throw new EnvelopeError(
      "ENVELOPE_STALE",
      `envelope timestamp off by more than ${ENVELOPE_MAX_SKEW_MS} ms`,
    );
  }
  const publicKey = fromHex(env.publicKey);
  const payload = fromHex(env.payload);
  let ok = false;
  try {
    ok = ed25519.verify(fromHex(env.signature), signingBytes(env.topic, env.timestampMs, payload), publicKey);
  } catch {
    ok = false;
  }
  if (!ok) throw new EnvelopeError("ENVELOPE_BAD_SIGNATURE", "envelope signature does not verify");
  return { publicKey, payload, timestampMs: env.timestampMs };
}
