/**
 * A subtle cheating aggregator: biases one chunk of its fixed-point aggregate (of many) and answers every
 * other chunk's challenge honestly, betting that sampling misses the one it corrupted. A watcher that
 * recomputes the aggregate from the round's updates challenges exactly that chunk; the aggregator cannot
 * prove it and is slashed.
 */
import { CHUNK_SIZE } from "../proofs/constants.ts";
import { DEMO_AGGREGATE_BIAS } from "./cheat-aggregate.ts";
import type { RoundAdversary } from "./round-adversary.ts";

const MAX_FIXED_POINT = 65_535;

export function corruptChunk(
  chunk: number,
  bias = DEMO_AGGREGATE_BIAS,
): Pick<RoundAdversary, "transformAggregate"> {
  return {
    transformAggregate: (aggregate) => {
      const end = Math.min(aggregate.length, (chunk + 1) * CHUNK_SIZE);
      for (let j = chunk * CHUNK_SIZE; j < end; j++)
        aggregate[j] = Math.min(MAX_FIXED_POINT, aggregate[j]! + bias);
      return aggregate;
    },
  };
}
