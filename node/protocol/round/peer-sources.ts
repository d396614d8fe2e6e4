/**
 * Where a node looks for round data (an update, an aggregate, a model): peers of named operators (a trainer, the
 * aggregator, a preferred holder), resolved through their on-chain peer binding, and every other admitted peer.
 * Whoever serves the bytes, the caller checks them against a commitment or a content hash.
 */
import { randomInt } from "node:crypto";

import { peerIdFromString } from "@libp2p/peer-id";
import type { PeerId } from "@libp2p/interface";
import type { Address } from "viem";

import type { RoundContext } from "./context.ts";

export interface PeerSources {
  /** The named operators' peers, in the order named (this node, unbound and repeated operators left out). */
  readonly named: PeerId[];
  /** Every other admitted peer. */
  readonly others: PeerId[];
}

export async function peerSources(
  ctx: RoundContext,
  operators: readonly (string | undefined)[],
): Promise<PeerSources> {
  const named: PeerId[] = [];
  for (const operator of operators) {
    if (operator === undefined || operator.toLowerCase() === ctx.me) continue;
    const peer = await ctx.chain.peerOf(operator as Address).catch(() => undefined);
    if (peer !== undefined && !named.some((p) => p.equals(peer))) named.push(peer);
  }
  const others: PeerId[] = [];
  for (const admitted of ctx.options.mesh.admission.admitted()) {
    const peer = peerIdFromString(admitted.peerId);
    if (!named.some((p) => p.equals(peer)) && !others.some((p) => p.equals(peer))) others.push(peer);
  }
  return { named, others };
}

/** A copy of `items` in uniformly random order (Fisher-Yates): which peers a node asks first spreads the load. */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
