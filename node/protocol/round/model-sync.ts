/**
 * Model sync: a node needs each round's base model to train and the posted model to go on. Models are
 * content-addressed (the chain names their hash); this fetches one from the data directory or from peers
 * (a preferred one first, usually the round's aggregator), checks its hash and keeps it.
 */
import { peerIdFromString } from "@libp2p/peer-id";
import type { PeerId } from "@libp2p/interface";
import type { Address, Hex } from "viem";

import { bytesToParams } from "../models.ts";
import type { RoundContext } from "./context.ts";
import type { RoundData } from "./round-data.ts";

export class ModelSync {
  private readonly ctx: RoundContext;
  /** Models being fetched (a tick does not start a second fetch of the same one). */
  private readonly fetching = new Set<string>();

  constructor(ctx: RoundContext, data: RoundData) {
    this.ctx = ctx;
    // Peers fetch models, and the round data this node holds (updates, aggregates), by content hash.
    ctx.options.mesh.blobs.serve((sha) => ctx.models.bytesBySha256(sha) ?? data.bytes(sha));
  }

  /** Fetches `ref` from peers (`preferred` first) unless we have it; verifies the hash. */
  async ensureModel(ref: Hex, preferred?: Address): Promise<Float32Array | undefined> {
    const { models, options, paramSize, me } = this.ctx;
    const have = models.get(ref);
    if (have !== undefined || /^0x0{64}$/.test(ref) || this.fetching.has(ref)) return have;
    this.fetching.add(ref);
    try {
      const stored = await options.store?.loadModel(ref, paramSize);
      if (stored !== undefined) {
        models.put(stored);
        return stored;
      }
      const peers: (PeerId | undefined)[] = [];
      if (preferred !== undefined && preferred.toLowerCase() !== me)
        peers.push(await this.ctx.chain.peerOf(preferred).catch(() => undefined));
      for (const admitted of options.mesh.admission.admitted()) peers.push(peerIdFromString(admitted.peerId));
      for (const peer of peers) {
        if (peer === undefined) continue;
        try {
          const bytes = await options.mesh.blobs.fetch(peer, ref.slice(2), paramSize * 4, this.ctx.signal);
          const params = bytesToParams(bytes, paramSize);
          models.put(params);
          await options.store?.saveModel(params);
          this.ctx.stats.bytesReceived += bytes.length;
          return params;
        } catch {
          // try the next peer
        }
      }
      return undefined;
    } finally {
      this.fetching.delete(ref);
    }
  }
}
