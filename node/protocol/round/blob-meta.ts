/**
 * The metadata a pushed round blob carries (docs/protocol.md §5): the round it belongs to and, for an update of a
 * buffered task, the base model the trainer trained from. Written by the sender (delivery.ts), read and checked
 * by the receiver (aggregator.ts); the bytes themselves are checked against on-chain commitments elsewhere.
 */
import type { Hex } from "viem";

import { MeshError } from "../../p2p/errors.ts";

export type BlobMeta = Readonly<Record<string, string | number | boolean>>;

/** The metadata of a round blob: its round, and the base model a buffered update names. */
export function blobMeta(roundId: bigint, base?: Hex): BlobMeta {
  return { round: roundId.toString(), ...(base === undefined ? {} : { base }) };
}

/** The round number a blob's metadata names. */
export function roundOf(meta: BlobMeta): bigint {
  const roundText = meta["round"];
  if (typeof roundText !== "string" || !/^\d{1,20}$/.test(roundText))
    throw new MeshError("BLOB_REJECTED", "update without a round number");
  return BigInt(roundText);
}

/** The base model a pushed update names (buffered tasks), if its metadata names one. */
export function baseOf(meta: BlobMeta): Hex | undefined {
  const base = meta["base"];
  return typeof base === "string" && /^0x[0-9a-fA-F]{64}$/.test(base) ? (base as Hex) : undefined;
}
