/**
 * Checking a pushed update against its trainer's on-chain commitment (docs/protocol.md §5): the aggregator's
 * check of what it aggregates, and every node's check of a replica it keeps and serves: a trainer's own replica,
 * or a proven round's update handed out after the post (by the aggregator to its seeds, or relayed by a node that
 * checked it, update-relay.ts). Only bytes that pass are kept, served or relayed.
 */
import type { Address, Hex } from "viem";

import { UpdateDecodeError } from "../../compression/index.ts";
import { sha256 } from "../../p2p/blobs.ts";
import { MeshError } from "../../p2p/errors.ts";
import type { CommitPriority } from "../../proofs/index.ts";
import { commitUpdateBytes } from "../update.ts";
import type { RoundContext, RoundView } from "./context.ts";
import type { RoundData } from "./round-data.ts";

/** Where `operator` is among the round's trainers (-1: it did not commit). */
export function trainerIndex(round: Pick<RoundView, "trainers">, operator: Address): number {
  const wanted = operator.toLowerCase();
  return round.trainers.findIndex((t) => t.toLowerCase() === wanted);
}

/**
 * Decodes an update and checks it against the trainer's on-chain commitment `root`; `priority`: urgent for an
 * update this node aggregates (its trainer's push waits for the ack, the post for all of them), background for a
 * replica it only keeps.
 */
export async function verifyUpdate(
  paramSize: number,
  bytes: Uint8Array,
  root: Hex,
  priority: CommitPriority,
): Promise<Awaited<ReturnType<typeof commitUpdateBytes>>> {
  let update: Awaited<ReturnType<typeof commitUpdateBytes>>;
  try {
    update = await commitUpdateBytes(bytes, paramSize, priority);
  } catch (error) {
    if (!(error instanceof UpdateDecodeError)) throw error;
    throw new MeshError("BLOB_REJECTED", `undecodable update: ${error.message}`);
  }
  if (update.commitment.root.toLowerCase() !== root.toLowerCase())
    throw new MeshError("BLOB_REJECTED", "update does not match the on-chain commitment");
  return update;
}

/**
 * A replica of `operator`'s update: kept (and served) only if it is the update that trainer committed; returns the
 * round as read. While it is checked, a push of the same bytes is declined as held (a relay's duplicate costs a
 * header, not a body, round-data.ts `holdsPushed`). Bytes that fail the check are a violation of `relayer`, the
 * peer that handed them out naming their trainer: an honest one hands out only what it checked, so this is never
 * a slip (the mesh's abuse accounting: past its threshold the peer is refused).
 */
export async function keepReplica(
  ctx: RoundContext,
  data: Pick<RoundData, "whileChecking" | "keepUpdate">,
  roundId: bigint,
  operator: Address,
  bytes: Uint8Array,
  relayer?: string,
): Promise<RoundView> {
  // Handed out after the post: the view must name the round's aggregator (its announcement gates the relay), and
  // one cached in the commit phase (a trainer's replica push) names none yet; a re-read is the relayer's budget.
  const round = await ctx.chain.roundForPush(
    roundId,
    relayer ?? operator,
    (r) => trainerIndex(r, operator) >= 0 && (relayer === undefined || !/^0x0{40}$/i.test(r.aggregator)),
  );
  const index = trainerIndex(round, operator);
  if (index < 0) throw new MeshError("BLOB_REJECTED", "sender did not commit in this round");
  const root = round.commitments[index]!;
  await data
    .whileChecking(sha256(bytes), () => verifyUpdate(ctx.paramSize, bytes, root, "background"))
    .catch((error: unknown) => {
      if (relayer !== undefined && error instanceof MeshError && error.code === "BLOB_REJECTED")
        ctx.options.mesh.reportViolation(relayer, "blob-uncommitted");
      throw error;
    });
  data.keepUpdate(roundId, root, bytes);
  return round;
}
