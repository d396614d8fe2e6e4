/**
 * Chained proofs in the round protocol (docs/protocol.md §3 `postLinkRoot`, §5 "Chained links"): a proven round
 * of more trainers than the flat circuit's fan-in (PROOF_TRAINERS = 8) is proven link by link. The aggregator
 * commits a link tree over every (chunk, link) cell before its aggregate and answers a challenged cell with
 * that link's proof; watchers challenge every cell of a wrong chunk (the lie sits in one of its links, and
 * only the aggregator knows which) and check each link answer's claimed trainer hashes against the trainers'
 * commitments.
 */
import type { Hex } from "viem";

import { buildChainWitnesses } from "../../proofs/chain-witness.ts";
import {
  LINK_SHAPE,
  LINK_TRAINERS,
  PROOF_TRAINERS,
  WEIGHT_BITS,
  buildLinkTree,
  encodeLinkProofCalldata,
  linkCount,
  proveLink,
} from "../../proofs/index.ts";
import type { LinkStatement, LinkTree, UpdateCommitment } from "../../proofs/index.ts";

/**
 * What a chained round's aggregator keeps to answer its cells: the posted link tree and what rebuilds any
 * chunk's links (the updates it proves over and the weights). The links themselves are rebuilt per challenged
 * chunk: all of them for a 100k-parameter model would hold ~1,600 chunks of circuit inputs in memory.
 */
export interface LinkRecord {
  readonly roundId: bigint;
  readonly witness: readonly Uint16Array[];
  readonly weights: readonly number[];
  readonly tree: LinkTree;
}

/** Whether a round is proven by chained proofs: proven, with more trainers than the flat fan-in. */
export function isChained(round: {
  readonly proven: boolean;
  readonly trainers: readonly unknown[];
}): boolean {
  return round.proven && round.trainers.length > PROOF_TRAINERS;
}

/** The link tree of a chained round over the updates `witness` with the posted `weights`. */
export async function buildLinks(
  roundId: bigint,
  numChunks: number,
  witness: readonly Uint16Array[],
  weights: readonly number[],
): Promise<LinkRecord> {
  const leaves: Pick<LinkStatement, "sumOutHash" | "wOut">[][] = [];
  for (let chunk = 0; chunk < numChunks; chunk++) {
    const chain = await buildChainWitnesses(roundId, chunk, witness, weights, LINK_SHAPE);
    leaves.push(chain.map(({ statement }) => ({ sumOutHash: statement.sumOutHash, wOut: statement.wOut })));
  }
  return { roundId, witness, weights, tree: buildLinkTree(leaves) };
}

/** The answer bytes for challenged cell `cell`: that link's proof and its openings. */
export async function proveCell(
  links: LinkRecord,
  cell: number,
  aggregateCommitment: UpdateCommitment,
): Promise<{ calldata: Hex; proveMs: number }> {
  const numLinks = links.tree.numLinks;
  const chunk = Math.floor(cell / numLinks);
  if (chunk >= links.tree.numChunks) throw new RangeError(`cell ${cell} is outside the link tree`);
  const chain = await buildChainWitnesses(links.roundId, chunk, links.witness, links.weights, LINK_SHAPE);
  const link = chain[cell % numLinks]!;
  const started = performance.now();
  const proof = await proveLink(link);
  const proveMs = performance.now() - started;
  return {
    calldata: encodeLinkProofCalldata(proof, { tree: links.tree, aggregateCommitment, chunkIndex: chunk }),
    proveMs,
  };
}

/** The cells a watcher challenges for wrong chunks of a round with `numLinks` links per chunk (0: flat). */
export function cellsOfChunks(chunks: readonly number[], numLinks: number): number[] {
  if (numLinks === 0) return [...chunks];
  return chunks.flatMap((chunk) => Array.from({ length: numLinks }, (_, link) => chunk * numLinks + link));
}

/** A link answer's claims about its trainers: round trainer index, claimed chunk hash and weight per slot. */
export interface LinkClaims {
  readonly chunk: number;
  readonly slots: readonly {
    readonly trainer: number;
    readonly chunkHash: bigint;
    readonly weight: number;
  }[];
}

/**
 * Decodes a link answer's statement bytes (`LinkAggregationVerifier`: H, the K trainer chunk hashes, sums in and
 * out, the aggregate chunk hash, packed weights, wIn, wOut, roundId·2^32 + chunk, link) for a round of
 * `trainers` trainers: slot k of link l is trainer l·K + k.
 */
export function decodeLinkClaims(statement: Hex, trainers: number): LinkClaims {
  const words = (statement.length - 2) / 64;
  if (words !== LINK_TRAINERS + 9)
    throw new RangeError(`a link statement has ${LINK_TRAINERS + 9} words, got ${words}`);
  const word = (i: number) => BigInt(`0x${statement.slice(2 + 64 * i, 2 + 64 * (i + 1))}`);
  const packed = word(1 + LINK_TRAINERS + 3);
  const chunk = Number(word(1 + LINK_TRAINERS + 6) & 0xffffffffn);
  const link = Number(word(1 + LINK_TRAINERS + 7));
  if (link >= linkCount(trainers))
    throw new RangeError(`link ${link} is outside a round of ${trainers} trainers`);
  const slots = Array.from({ length: LINK_TRAINERS }, (_, k) => ({
    trainer: link * LINK_TRAINERS + k,
    chunkHash: word(1 + k),
    weight: Number((packed >> BigInt(WEIGHT_BITS * k)) & ((1n << BigInt(WEIGHT_BITS)) - 1n)),
  })).filter((slot) => slot.trainer < trainers);
  return { chunk, slots };
}
