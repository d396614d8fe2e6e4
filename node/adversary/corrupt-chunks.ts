/**
 * A cheating aggregator that corrupts a fraction of its aggregate's chunks (e.g. half), chosen afresh and at
 * random for every aggregate, betting that neither the sampled chunks nor the watchers land on them. Every
 * other chunk stays honest, so any challenge of those is answered with a valid proof. A watcher that
 * recomputes the aggregate from the round's updates challenges the wrong chunks (bench:attacks).
 */
import { CHUNK_SIZE } from "../proofs/constants.ts";
import { corruptChunk } from "./corrupt-chunk.ts";
import type { RoundAdversary } from "./round-adversary.ts";

/** Chunks `aggregate` spans (the last one may be partial). */
const chunksOf = (aggregate: Uint16Array) => Math.ceil(aggregate.length / CHUNK_SIZE);

/**
 * Corrupts `Math.max(1, round(fraction × chunks))` distinct chunks drawn with `random` (default
 * `Math.random`: the attacker's own choice, unknown to everyone else).
 */
export function corruptChunks(
  fraction: number,
  random: () => number = Math.random,
): Pick<RoundAdversary, "transformAggregate"> {
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`corrupted fraction ${fraction} outside (0, 1]`);
  return {
    transformAggregate: (aggregate) => {
      const chunks = chunksOf(aggregate);
      const order = Array.from({ length: chunks }, (_, i) => i);
      const count = Math.max(1, Math.round(fraction * chunks));
      // Partial Fisher–Yates: the first `count` entries are a uniform random subset.
      for (let i = 0; i < count; i++) {
        const j = i + Math.floor(random() * (chunks - i));
        [order[i], order[j]] = [order[j]!, order[i]!];
        corruptChunk(order[i]!).transformAggregate(aggregate);
      }
      return aggregate;
    },
  };
}
