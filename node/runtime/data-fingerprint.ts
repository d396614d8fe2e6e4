/**
 * A short fingerprint of the data a node trains on, advertised in its capacity record so that two nodes given
 * the same shard (explicitly, not only the shared default the start-up check sees) find out and warn: their
 * updates duplicate each other and the rest of the data set goes untrained.
 * It hashes the samples themselves (labels and features), so the same files under different paths or configs
 * still match, and different shards never do. 64 bits: equal only by mistake once in 2^32 pairs of nodes.
 */
import { createHash } from "node:crypto";

import type { Dataset } from "../training/data/dataset.ts";

/** Domain tag: a fingerprint is never confused with another hash of the same bytes. */
const DOMAIN = "vain/data-fingerprint/v1";

/** 16 hex characters: the first 8 bytes of sha256(domain, shape, labels, features). */
export function dataFingerprint(data: Dataset): string {
  const hash = createHash("sha256");
  hash.update(DOMAIN);
  hash.update(`${data.count}:${data.featureSize}:${data.classes}`);
  hash.update(data.labels);
  hash.update(new Uint8Array(data.features.buffer, data.features.byteOffset, data.features.byteLength));
  return hash.digest("hex").slice(0, 16);
}
