/**
 * The admission protocol's wire format (docs/protocol.md §6): challenge, signed answer and verdict frames,
 * and the refusal codes a verdict carries. Every frame is zod-bounded; a peer's defect becomes a typed
 * refusal, never an exception.
 */
import { z } from "zod";

import { MeshError } from "../errors.ts";
import { HandshakeError } from "../handshake.ts";
import type { StakeReason } from "./refusals.ts";
import { StakeLookupError } from "./stake-oracle.ts";

export type RefusalCode =
  | "NOT_BOUND"
  | "WRONG_OPERATOR"
  | "INSUFFICIENT_STAKE"
  | "BAD_SIGNATURE"
  | "WRONG_CONTEXT"
  | "STALE"
  | "MALFORMED"
  | "TIMEOUT"
  | "CHAIN_UNAVAILABLE"
  | "RATE_LIMITED"
  | "REVOKED"
  /** The peer broke protocol rules often enough (docs/protocol.md §6 "abuse"); refused for a while. */
  | "ABUSIVE";

export const challengeSchema = z.object({
  v: z.literal(1),
  nonce: z.string().regex(/^[0-9a-f]{64}$/),
  chainId: z.number().int().positive(),
  registry: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
});
export const responseSchema = z.union([
  z.object({
    ok: z.literal(true),
    operator: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    timestampMs: z.number().int().nonnegative(),
    signature: z.string().regex(/^[0-9a-f]{128}$/),
  }),
  z.object({ ok: z.literal(false), reason: z.string().max(256) }),
]);
export const verdictSchema = z.object({
  ok: z.boolean(),
  code: z.string().max(32).optional(),
  reason: z.string().max(256).optional(),
});

export const REFUSAL_CODES: ReadonlySet<string> = new Set<RefusalCode>([
  "NOT_BOUND",
  "WRONG_OPERATOR",
  "INSUFFICIENT_STAKE",
  "BAD_SIGNATURE",
  "WRONG_CONTEXT",
  "STALE",
  "MALFORMED",
  "TIMEOUT",
  "CHAIN_UNAVAILABLE",
  "RATE_LIMITED",
  "REVOKED",
  "ABUSIVE",
]);

export class Refused extends Error {
  readonly code: RefusalCode;
  /** How long the peer is turned away, when not the code's default. */
  readonly ttlMs: number | undefined;
  /** The operator whose stake (as read at a block) the refusal is about: a later change of it lifts the refusal. */
  readonly stakeOf: StakeReason | undefined;
  constructor(code: RefusalCode, message: string, ttlMs?: number, stakeOf?: StakeReason) {
    super(message);
    this.code = code;
    this.ttlMs = ttlMs;
    this.stakeOf = stakeOf;
  }
}

/** The refusal a failed check turns into (what the verdict tells the peer). */
export function toRefusal(error: unknown): Refused {
  if (error instanceof Refused) return error;
  if (error instanceof HandshakeError) {
    const code: RefusalCode =
      error.code === "HANDSHAKE_BAD_SIGNATURE"
        ? "BAD_SIGNATURE"
        : error.code === "HANDSHAKE_STALE"
          ? "STALE"
          : error.code === "HANDSHAKE_WRONG_CONTEXT"
            ? "WRONG_CONTEXT"
            : "MALFORMED";
    return new Refused(code, error.message);
  }
  if (error instanceof StakeLookupError) return new Refused(error.code, error.message);
  if (error instanceof MeshError) {
    return new Refused(error.code === "STREAM_TIMEOUT" ? "TIMEOUT" : "MALFORMED", error.message);
  }
  return new Refused("MALFORMED", error instanceof Error ? error.message : String(error));
}
