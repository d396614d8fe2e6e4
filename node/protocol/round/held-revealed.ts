/**
 * Which updates of a round another node aggregated this node keeps to fold into its rule's silent memories
 * (task-rule.ts `holdRevealed`): every committed update it holds, each checked against its trainer's on-chain
 * commitment when it was kept, whatever the aggregator's announcement lists.
 *
 * Why not only the listed ones: the announcement names, per trainer, the content hash of the update the aggregator
 * screened, "" for one it did not screen. Folding a "" entry as absent let a colluding aggregator keep a friend out
 * of one round's memories (its push in that round counted nowhere, on any node), by listing it as not screened while
 * the trainer had committed and replicated it. The commitment on chain, not the aggregator's word, says which update
 * is the trainer's. The listing still says when to stop waiting: this node keeps the round once it holds every listed
 * update (the aggregator hands those out, rejected ones included, round-data.ts `distribute`); a "" entry is folded
 * when this node holds that trainer's committed bytes by then (a replica it kept, or its own), absent otherwise.
 */
import type { Hex } from "viem";

/** What a node holds of one finished round, to pick the updates to fold. */
export interface HeldRound {
  /** The aggregator's announced content hash per trainer ("" for one it did not screen), in trainer order. */
  readonly listed: readonly string[];
  /** The round's trainers and their on-chain commitments, in trainer order. */
  readonly trainers: readonly string[];
  readonly commitments: readonly Hex[];
  /** This node's address (lower case). */
  readonly me: string;
  /** Bytes held for a commitment (hex without 0x, lower case), each checked against it when kept. */
  readonly committedBytes: (root: string) => Uint8Array | undefined;
  /** This node's own update, when it trained in the round: its content hash and bytes. */
  readonly own?: { readonly sha: string; readonly bytes: Uint8Array };
}

/**
 * Per trainer, the bytes to fold (undefined: not held), or undefined while a listed update is not held yet (or the
 * listing does not match the round: a wrong length is not this round's announcement).
 */
export function updatesToFold(held: HeldRound): (Uint8Array | undefined)[] | undefined {
  const { listed, trainers, commitments } = held;
  if (listed.length !== trainers.length || commitments.length !== trainers.length) return undefined;
  const out: (Uint8Array | undefined)[] = [];
  for (const [i, sha] of listed.entries()) {
    const mine = trainers[i]!.toLowerCase() === held.me && held.own !== undefined;
    const bytes =
      held.committedBytes(commitments[i]!.slice(2).toLowerCase()) ??
      (mine && (sha === "" || held.own!.sha === sha) ? held.own!.bytes : undefined);
    if (bytes === undefined && sha !== "") return undefined;
    out.push(bytes);
  }
  return out;
}
