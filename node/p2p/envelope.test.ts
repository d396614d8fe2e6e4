import { test } from "node:test";
import assert from "node:assert/strict";
import { ed25519 } from "@noble/curves/ed25519.js";
import { EnvelopeError, openEnvelope, sealEnvelope } from "./envelope.ts";
import { MAX_GOSSIP_PAYLOAD_BYTES } from "./constants.ts";

const sk = ed25519.utils.randomSecretKey();
const code = (c: string) => (e: unknown) => e instanceof EnvelopeError && e.code === c;

test("round trip returns payload and signer key", () => {
  const payload = new TextEncoder().encode("round 7 open");
  const out = openEnvelope(sealEnvelope(sk, "/vain/1/rounds", payload), "/vain/1/rounds");
  assert.deepEqual(out.payload, payload);
  assert.deepEqual(out.publicKey, ed25519.getPublicKey(sk));
});

test("tampered payload, wrong topic, stale and junk are rejected with codes", () => {
  const bytes = sealEnvelope(sk, "t", new Uint8Array([1, 2, 3]), 1_000_000);
  const env = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  const tampered = new TextEncoder().encode(JSON.stringify({ ...env, payload: "010204" }));
  assert.throws(() => openEnvelope(tampered, "t", 1_000_000), code("ENVELOPE_BAD_SIGNATURE"));
  assert.throws(() => openEnvelope(bytes, "other", 1_000_000), code("ENVELOPE_MALFORMED"));
  assert.throws(() => openEnvelope(bytes, "t", 1_000_000 + 120_000), code("ENVELOPE_STALE"));
  assert.throws(() => openEnvelope(new Uint8Array([0xff, 0x00]), "t"), code("ENVELOPE_MALFORMED"));
  assert.throws(
    () => sealEnvelope(sk, "t", new Uint8Array(MAX_GOSSIP_PAYLOAD_BYTES + 1)),
    code("ENVELOPE_TOO_LARGE"),
  );
});
