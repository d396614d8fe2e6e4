import { ed25519 } from "@noble/curves/ed25519.js";
import { ENVELOPE_MAX_SKEW_MS } from "./constants.ts";

/** Typed error for a rejected admission handshake. */
export class HandshakeError extends Error {
  readonly code:
    "HANDSHAKE_MALFORMED" | "HANDSHAKE_BAD_SIGNATURE" | "HANDSHAKE_STALE" | "HANDSHAKE_WRONG_CONTEXT";
  constructor(code: HandshakeError["code"], message: string) {
    super(message);
    this.name = "HandshakeError";
    this.code = code;
  }
}

/** Claim a peer makes at admission: its node key vouches for an operator on a given chain and registry. */
export interface HandshakeClaim {
  operator: `0x${string}`;
  chainId: number;
  registry: `0x${string}`;
  /** Verifier-chosen random nonce (hex), so a recorded handshake cannot be replayed. */
  nonce: string;
  timestampMs: number;
}

/** Canonical signed bytes: fixed field order, lower-case addresses, domain tag. */
export function handshakeBytes(c: HandshakeClaim): Uint8Array {
  return new TextEncoder().encode(
    `vain-admission-v1\n${c.operator.toLowerCase()}\n${c.chainId}\n${c.registry.toLowerCase()}\n${c.nonce}\n${c.timestampMs}`,
  );
}

/** Signs a claim with the node's Ed25519 secret key. */
export function signHandshake(secretKey: Uint8Array, claim: HandshakeClaim): Uint8Array {
  return ed25519.sign(handshakeBytes(claim), secretKey);
}

/**
 * Verifies a claim against the verifier's expected context (chain, registry, the nonce it issued) and the
 * peer's node public key. The on-chain binding check (operatorOf(peerId) == operator) is done by the caller.
 */
export function verifyHandshake(
  publicKey: Uint8Array,
  claim: HandshakeClaim,
  signature: Uint8Array,
  expected: { chainId: number; registry: `0x${string}`; nonce: string },
  nowMs = Date.now(),
): void {
  if (!/^0x[0-9a-fA-F]{40}$/.test(claim.operator))
    throw new HandshakeError("HANDSHAKE_MALFORMED", "bad operator address");
  if (
    claim.chainId !== expected.chainId ||
    claim.registry.toLowerCase() !== expected.registry.toLowerCase() ||
    claim.nonce !== expected.nonce
  ) {
    throw new HandshakeError("HANDSHAKE_WRONG_CONTEXT", "handshake is for another chain, registry or nonce");
  }
  if (Math.abs(nowMs - claim.timestampMs) > ENVELOPE_MAX_SKEW_MS)
    throw new HandshakeError("HANDSHAKE_STALE", "handshake too old");
  let ok = false;
  try {
    ok = ed25519.verify(signature, handshakeBytes(claim), publicKey);
  } catch {
    ok = false;
  }
  if (!ok) throw new HandshakeError("HANDSHAKE_BAD_SIGNATURE", "handshake signature does not verify");
}
