/**
 * Chained proofs on chain (contracts/verifier/LinkAggregationVerifier.sol, docs/protocol.md §5): the link tree
 * an aggregator commits with a chained round's aggregate, the proof bytes of a link answer, the link
 * statement it leaves disputable, and the link prover (the committed K = 4, C = 64 link artifacts in
 * circuits/artifacts/link, proved on the same prover thread as flat chunks).
 *
 * The link tree has one leaf per (chunk, link) cell, index `chunk * numLinks + link`:
 * keccak256(abi.encode(sumOutHash, wOut)) of that link's running sums and total weight.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";

import type { Groth16Proof } from "snarkjs";
import { concatHex, encodeAbiParameters, keccak256 } from "viem";
import type { Hex } from "viem";

import { ARTIFACTS_DIR, ArtifactIntegrityError } from "./artifacts.ts";
import { buildChainWitnesses, sumsHash } from "./chain-witness.ts";
import type { ChainLink, LinkShape, LinkStatement } from "./chain-witness.ts";
import { fieldToBytes32, merkleLevels, merklePath } from "./commitment.ts";
import type { UpdateCommitment } from "./commitment.ts";
import { CHUNK_SIZE, LINK_COUNT_BITS, LINK_TRAINERS, WEIGHT_BITS } from "./constants.ts";
import { ProvingError, proofPoints } from "./prover.ts";
import { proverThread } from "./prover-thread.ts";

/** The link circuit the chain verifies: AggregateLink(4, 64, 16, 16, 10). */
export const LINK_SHAPE: LinkShape = {
  trainers: LINK_TRAINERS,
  chunkSize: CHUNK_SIZE,
  countBits: LINK_COUNT_BITS,
};

/** Where the committed link artifacts are (wasm, zkey, verification key). */
export const LINK_ARTIFACTS_DIR = `${ARTIFACTS_DIR}link/`;

/** Links of a chained round of `trainers` trainers. */
export function linkCount(trainers: number, shape: LinkShape = LINK_SHAPE): number {
  return Math.ceil(trainers / shape.trainers);
}

/** Poseidon of all-zero running sums: link 0's input (LinkAggregationVerifier.zeroSumsHash). */
export async function zeroSumsHash(shape: LinkShape = LINK_SHAPE): Promise<bigint> {
  return sumsHash(new Array<bigint>(shape.chunkSize).fill(0n), shape);
}

/** A cell's leaf: keccak256(abi.encode(sumOutHash, wOut)). */
export function linkLeaf(sumOutHash: bigint, wOut: bigint): Hex {
  return keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }], [sumOutHash, wOut]));
}

/** The link tree of a chained round: every chunk's links, chunk-major. */
export interface LinkTree {
  readonly root: Hex;
  readonly levels: readonly Hex[][];
  readonly numChunks: number;
  readonly numLinks: number;
}

/** Builds the link tree from each chunk's chain of links (`chains[chunk][link]`, all of one length). */
export function buildLinkTree(
  chains: readonly (readonly Pick<LinkStatement, "sumOutHash" | "wOut">[])[],
): LinkTree {
  const numLinks = chains[0]?.length ?? 0;
  if (numLinks === 0 || chains.some((chain) => chain.length !== numLinks))
    throw new RangeError("every chunk has the same, non-zero number of links");
  const levels = merkleLevels(chains.flatMap((chain) => chain.map((l) => linkLeaf(l.sumOutHash, l.wOut))));
  return { root: levels.at(-1)![0]!, levels, numChunks: chains.length, numLinks };
}

/** The links of every chunk of a chained round (what the aggregator commits to in its link tree). */
export async function buildRoundChains(
  roundId: bigint,
  numChunks: number,
  encodedUpdates: readonly Uint16Array[],
  weights: readonly number[],
  shape: LinkShape = LINK_SHAPE,
): Promise<ChainLink[][]> {
  const chains: ChainLink[][] = [];
  for (let chunk = 0; chunk < numChunks; chunk++)
    chains.push(await buildChainWitnesses(roundId, chunk, encodedUpdates, weights, shape));
  return chains;
}

/** A proved link, with the statement the proof's one public signal hashes. */
export interface LinkProof {
  readonly proof: Groth16Proof;
  readonly publicSignals: readonly string[];
  readonly statement: LinkStatement;
}

const checkedDirs = new Map<string, Promise<void>>();

/** Checks the link wasm and zkey against their manifest hashes (once per directory and process). */
export function checkLinkArtifacts(dir: string = LINK_ARTIFACTS_DIR): Promise<void> {
  let checked = checkedDirs.get(dir);
  if (checked === undefined) {
    checked = (async () => {
      const manifest = JSON.parse(await readFile(`${dir}manifest.json`, "utf8")) as {
        files: Record<string, string>;
      };
      for (const name of ["link.wasm", "link.zkey"]) {
        const digest = createHash("sha256")
          .update(await readFile(`${dir}${name}`))
          .digest("hex");
        if (digest !== manifest.files[name])
          throw new ArtifactIntegrityError(
            `${dir}${name} does not match its manifest hash (npm run zk:link)`,
          );
      }
    })();
    checkedDirs.set(dir, checked);
  }
  return checked;
}

/** Proves one link (a `buildChainWitnesses` entry) on the prover thread with the committed link artifacts. */
export async function proveLink(
  link: ChainLink,
  artifactsDir: string = LINK_ARTIFACTS_DIR,
): Promise<LinkProof> {
  await checkLinkArtifacts(artifactsDir);
  const result = await proverThread.prove({
    kind: "prove",
    input: link.input,
    wasmPath: `${artifactsDir}link.wasm`,
    zkeyPath: `${artifactsDir}link.zkey`,
  });
  if (result.publicSignals.length !== 1 || BigInt(result.publicSignals[0]!) !== link.statement.statement)
    throw new ProvingError("the link proof's public signal is not the link's statement hash");
  return { ...result, statement: link.statement };
}

/** What a link answer opens: the link tree, the aggregate's commitment and the chunk. */
export interface LinkAnswerContext {
  readonly tree: LinkTree;
  readonly aggregateCommitment: Pick<UpdateCommitment, "levels">;
  readonly chunkIndex: number;
}

/**
 * The `proof` bytes for `LinkAggregationVerifier.verifyLink`, packed 32-byte words: the Groth16 points, H,
 * sumInHash, sumOutHash, the aggregate chunk hash, wIn, wOut, the claimed chunk hashes of the link's weighted
 * trainers, the output leaf's path, for link > 0 the input leaf's path, and for the last link the aggregate's
 * path.
 */
export function encodeLinkProofCalldata(linkProof: LinkProof, context: LinkAnswerContext): Hex {
  const { a, b, c } = proofPoints(linkProof.proof);
  const s = linkProof.statement;
  const { tree, chunkIndex } = context;
  const cell = chunkIndex * tree.numLinks + s.link;
  const words: Hex[] = [
    ...[...a, ...b.flat(), ...c].map(fieldToBytes32),
    ...[s.statement, s.sumInHash, s.sumOutHash, s.aggregateChunkHash, s.wIn, s.wOut].map(fieldToBytes32),
    ...s.weights.flatMap((w, k) => (w > 0 ? [fieldToBytes32(s.trainerChunkHashes[k] ?? 0n)] : [])),
    ...merklePath(tree.levels, cell),
    ...(s.link > 0 ? merklePath(tree.levels, cell - 1) : []),
    ...(s.link + 1 === tree.numLinks ? merklePath(context.aggregateCommitment.levels, chunkIndex) : []),
  ];
  return concatHex(words);
}

/** A link answer's statement bytes as the verifier returns them: H, then the 12 statement inputs. */
export function encodeLinkStatement(statement: LinkStatement, roundChunk: bigint): Hex {
  let packed = 0n;
  statement.weights.forEach((w, k) => (packed |= BigInt(w) << BigInt(WEIGHT_BITS * k)));
  return concatHex(
    [
      statement.statement,
      ...statement.trainerChunkHashes,
      statement.sumInHash,
      statement.sumOutHash,
      statement.aggregateChunkHash,
      packed,
      statement.wIn,
      statement.wOut,
      roundChunk,
      BigInt(statement.link),
    ].map(fieldToBytes32),
  );
}
