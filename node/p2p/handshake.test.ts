import { test } from "node:test";
import assert from "node:assert/strict";
import { ed25519 } from "@noble/curves/ed25519.js";
import { HandshakeError, signHandshake, verifyHandshake, type HandshakeClaim } from "./handshake.ts";

const sk = ed25519.utils.randomSecretKey();
const pk = ed25519.getPublicKey(sk);
const registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;
const claim: HandshakeClaim = {
  operator: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  chainId: 31337,
  registry,
  nonce: "ab12",
  timestampMs: 5_000_000,
};
const expected = { chainId: 31337, registry, nonce: "ab12" };
const code = (c: string) => (e: unknown) => e instanceof HandshakeError && e.code === c;

test("valid handshake verifies; altered claims fail with codes", () => {
  const sig = signHandshake(sk, claim);
  verifyHandshake(pk, claim, sig, expected, 5_000_000);
  const otherOp = { ...claim, operator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as const };
  assert.throws(
    () => verifyHandshake(pk, otherOp, sig, expected, 5_000_000),
    code("HANDSHAKE_BAD_SIGNATURE"),
  );
  assert.throws(
    () => verifyHandshake(pk, claim, sig, { ...expected, nonce: "ff" }, 5_000_000),
    code("HANDSHAKE_WRONG_CONTEXT"),
  );
  assert.throws(
    () => verifyHandshake(pk, claim, sig, { ...expected, chainId: 1 }, 5_000_000),
    code("HANDSHAKE_WRONG_CONTEXT"),
  );
  assert.throws(() => verifyHandshake(pk, claim, sig, expected, 5_000_000 + 61_000), code("HANDSHAKE_STALE"));
  const otherPk = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
  assert.throws(
    () => verifyHandshake(otherPk, claim, sig, expected, 5_000_000),
    code("HANDSHAKE_BAD_SIGNATURE"),
  );
});
