/**
 * Hierarchical aggregation of one round (docs/protocol.md §7, hierarchical rounds). With more trainers than the task's fan-in,
 * trainers send their updates to sub-aggregators, which send *partial aggregates* up a tree to the round's
 * on-chain aggregator, so no node receives more than `maxFanIn` messages.
 *
 * A partial is exact: the per-coordinate weighted sums Σ w·u of the fixed-point updates below it and the
 * weights used, so the root's floor(Σ/Σw) is bit for bit the flat aggregate of the same updates and weights.
 * A parent checks a child's partial by sampling chunks and asking for *openings*: each included trainer's
 * chunk values with the Merkle path to its on-chain commitment, which it re-hashes and re-sums.
 *
 * The tree is a pure function of on-chain data (round ID, trainers, commitments, aggregator), so every node
 * computes the same one and nobody can pick its sub-aggregator before the commit phase closes.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";

import { keccak256, toHex } from "viem";
import type { Address, Chain, Hex, PublicClient, Transport } from "viem";
import { z } from "zod";

import { trainingRoundsAbi } from "../chain/contracts.ts";
import { roundOpenBlock } from "../chain/draws.ts";
import { planHierarchy } from "../scheduling/aggregation-plan.ts";
import type { AggregationGroup, HierarchyPlan } from "../scheduling/aggregation-plan.ts";
import {
  CHUNK_SIZE,
  MAX_WEIGHT,
  VALUE_OFFSET,
  chunkValues,
  fieldToBytes32,
  hashChunk,
  merklePath,
  merkleRootFromPath,
} from "../proofs/index.ts";
import type { UpdateCommitment } from "../proofs/index.ts";

/** Typed failure of a partial aggregate or an opening: the sender's bytes, never a crash. */
export class HierarchyError extends Error {
  override readonly name = "HierarchyError";
  readonly code: "PARTIAL_MALFORMED" | "PARTIAL_MISMATCH" | "OPENING_INVALID";
  constructor(code: HierarchyError["code"], message: string) {
    super(message);
    this.code = code;
  }
}

/** The aggregation tree of one round, keyed by lower-case operator addresses. */
export interface RoundTree {
  readonly plan: HierarchyPlan;
  /** More than one level: updates go to sub-aggregators. */
  readonly hierarchical: boolean;
  readonly root: string;
}

export interface RoundTreeInput {
  readonly roundId: bigint;
  readonly trainers: readonly Address[];
  readonly commitments: readonly Hex[];
  readonly aggregator: Address;
  readonly maxFanIn: number;
  /**
   * Trainers that may lead a group: the on-chain aggregator candidates at the block that selected the round's
   * aggregator (low-power and opted-out nodes are not candidates). All trainers when absent.
   */
  readonly eligible?: ReadonlySet<string>;
  /** The selection's on-chain randomness (`AggregatorSelected.seed`). */
  readonly selectionSeed?: string;
}

export function roundTree(input: RoundTreeInput): RoundTree {
  const root = input.aggregator.toLowerCase();
  // Seeded by the selection's randomness and the commitments: fixed only once the commit phase closed, so
  // nobody chose their sub-aggregator.
  const seed = keccak256(
    toHex(`${input.roundId}|${input.selectionSeed ?? ""}|${input.commitments.join(",").toLowerCase()}`),
  );
  const plan = planHierarchy(
    input.trainers.map((t) => ({
      peerId: t.toLowerCase(),
      eligible: input.eligible === undefined || input.eligible.has(t.toLowerCase()),
    })),
    { maxFanIn: input.maxFanIn, updateBytes: 1, root, seed },
  );
  return { plan, hierarchical: plan.depth > 1, root };
}

/**
 * The tree every node of the round computes: flat when the trainers fit `maxFanIn`; otherwise planned with the
 * on-chain aggregator candidates (the round's task's) and randomness of the block that selected the round's aggregator, read at
 * that block, so a later opt-in or opt-out cannot make nodes disagree.
 */
export async function roundTreeFromChain(
  client: PublicClient<Transport, Chain>,
  rounds: Address,
  roundId: bigint,
  round: {
    readonly taskId: bigint;
    readonly trainers: readonly Address[];
    readonly commitments: readonly Hex[];
    readonly aggregator: Address;
  },
  maxFanIn: number,
): Promise<RoundTree> {
  const base = {
    roundId,
    trainers: round.trainers,
    commitments: round.commitments,
    aggregator: round.aggregator,
    maxFanIn,
  };
  if (round.trainers.length <= maxFanIn) return roundTree(base);
  const [selected] = await client.getContractEvents({
    address: rounds,
    abi: trainingRoundsAbi,
    eventName: "AggregatorSelected",
    args: { roundId },
    fromBlock: await roundOpenBlock(client, rounds, roundId),
  });
  if (selected === undefined || selected.blockNumber === null)
    throw new Error(`no AggregatorSelected event for round ${roundId} yet`);
  const candidates = await client.readContract({
    address: rounds,
    abi: trainingRoundsAbi,
    functionName: "aggregatorCandidates",
    args: [round.taskId],
    blockNumber: selected.blockNumber,
  });
  return roundTree({
    ...base,
    eligible: new Set(candidates.map((c) => c.toLowerCase())),
    selectionSeed: String(selected.args.seed ?? ""),
  });
}

/** Groups led by `id`, lowest level first. */
export function groupsLedBy(tree: RoundTree, id: string): AggregationGroup[] {
  return tree.plan.groups.filter((g) => g.aggregator === id).sort((a, b) => a.level - b.level);
}

/** Where the leader of `group` sends its partial: the leader of the next level's group containing it. */
export function parentOfGroup(tree: RoundTree, group: AggregationGroup): string | undefined {
  return tree.plan.groups.find((g) => g.level === group.level + 1 && g.members.includes(group.aggregator))
    ?.aggregator;
}

/** The top group (led by the root). */
export function topGroup(tree: RoundTree): AggregationGroup {
  return tree.plan.groups.reduce((top, g) => (g.level > top.level ? g : top));
}

/** Every trainer under `group`, recursively. */
export function trainersUnder(tree: RoundTree, group: AggregationGroup): Set<string> {
  if (group.level === 1) return new Set(group.members);
  const out = new Set<string>();
  for (const member of group.members) {
    const child = tree.plan.groups.find((g) => g.level === group.level - 1 && g.aggregator === member);
    if (child !== undefined) for (const t of trainersUnder(tree, child)) out.add(t);
  }
  return out;
}

/** Weighted sums of fixed-point updates and the weights used, keyed by lower-case operator. */
export interface PartialAggregate {
  readonly weights: ReadonlyMap<string, number>;
  readonly sums: Float64Array;
}

/** Σ w·u over the given encoded updates (weights ≤ 2^16 and values < 2^16, so sums stay exact below 2^53). */
export function partialOf(
  dimension: number,
  updates: readonly { operator: string; encoded: Uint16Array; weight: number }[],
): PartialAggregate {
  const sums = new Float64Array(dimension);
  const weights = new Map<string, number>();
  for (const { operator, encoded, weight } of updates) {
    weights.set(operator, weight);
    if (weight === 0) continue;
    for (let j = 0; j < dimension; j++) sums[j] = sums[j]! + weight * encoded[j]!;
  }
  return { weights, sums };
}

/** Sums partials over disjoint trainer sets. */
export function mergePartials(dimension: number, partials: readonly PartialAggregate[]): PartialAggregate {
  const sums = new Float64Array(dimension);
  const weights = new Map<string, number>();
  for (const p of partials) {
    for (const [operator, weight] of p.weights) {
      if (weights.has(operator))
        throw new HierarchyError("PARTIAL_MISMATCH", `trainer ${operator} is in two partials`);
      weights.set(operator, weight);
    }
    for (let j = 0; j < dimension; j++) sums[j] = sums[j]! + p.sums[j]!;
  }
  return { weights, sums };
}

/** floor(Σ w·u / Σ w) per coordinate: the same values as `aggregateFixedPoint` over the same inputs. */
export function aggregateOfPartial(partial: PartialAggregate): Uint16Array {
  let total = 0;
  for (const w of partial.weights.values()) total += w;
  if (total === 0) throw new HierarchyError("PARTIAL_MISMATCH", "total weight is zero");
  const out = new Uint16Array(partial.sums.length);
  for (let j = 0; j < out.length; j++) {
    const sum = partial.sums[j]!;
    let q = Math.floor(sum / total);
    if (q * total > sum) q -= 1;
    if ((q + 1) * total <= sum) q += 1;
    out[j] = q;
  }
  return out;
}

const partialHeaderSchema = z
  .object({
    v: z.literal(1),
    round: z.string().regex(/^\d{1,20}$/),
    level: z.number().int().min(1).max(32),
    dimension: z.number().int().positive(),
    weights: z.record(z.string().regex(/^0x[0-9a-f]{40}$/), z.number().int().min(0).max(MAX_WEIGHT)),
  })
  .strict();

/**
 * Wire format: u32 BE header length | UTF-8 JSON header | raw-deflated `dimension` float64 LE deviations
 * `Σ w·u − Σw · VALUE_OFFSET` (zero wherever no trainer below moved the coordinate, so sparse top-k updates
 * give small partials). The receiver inflates with a hard output cap.
 */
export function encodePartial(roundId: bigint, level: number, partial: PartialAggregate): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({
      v: 1,
      round: roundId.toString(),
      level,
      dimension: partial.sums.length,
      weights: Object.fromEntries(partial.weights),
    }),
  );
  const zero = totalWeight(partial) * VALUE_OFFSET;
  const raw = new Uint8Array(partial.sums.length * 8);
  const rawView = new DataView(raw.buffer);
  partial.sums.forEach((s, j) => rawView.setFloat64(j * 8, s - zero, true));
  const body = deflateRawSync(raw);
  const out = new Uint8Array(4 + header.length + body.length);
  new DataView(out.buffer).setUint32(0, header.length);
  out.set(header, 4);
  out.set(body, 4 + header.length);
  return out;
}

function totalWeight(partial: PartialAggregate): number {
  let total = 0;
  for (const w of partial.weights.values()) total += w;
  return total;
}

export function decodePartial(
  bytes: Uint8Array,
  dimension: number,
): { roundId: bigint; level: number; partial: PartialAggregate } {
  const fail = (message: string): never => {
    throw new HierarchyError("PARTIAL_MALFORMED", message);
  };
  if (bytes.length < 4) fail("partial shorter than its header length");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0);
  if (headerLength > 1 << 24 || 4 + headerLength > bytes.length) fail("partial header overruns the message");
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(4, 4 + headerLength)));
  } catch {
    fail("partial header is not UTF-8 JSON");
  }
  const parsed = partialHeaderSchema.safeParse(raw);
  if (!parsed.success) return fail(`partial header invalid: ${parsed.error.issues[0]?.message ?? "?"}`);
  const header = parsed.data;
  if (header.dimension !== dimension)
    fail(`partial has dimension ${header.dimension}, expected ${dimension}`);
  let body: Uint8Array = new Uint8Array(0);
  try {
    body = inflateRawSync(bytes.subarray(4 + headerLength), { maxOutputLength: dimension * 8 });
  } catch {
    fail("partial body does not inflate within its dimension");
  }
  if (body.length !== dimension * 8) fail("partial body length does not match its dimension");
  const weights = new Map(Object.entries(header.weights));
  const zero = totalWeight({ weights, sums: new Float64Array(0) }) * VALUE_OFFSET;
  const bodyView = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const sums = new Float64Array(dimension);
  for (let j = 0; j < dimension; j++) {
    const s = bodyView.getFloat64(j * 8, true) + zero;
    if (!Number.isSafeInteger(s) || s < 0) fail(`partial sum ${j} is not a non-negative integer`);
    sums[j] = s;
  }
  return { roundId: BigInt(header.round), level: header.level, partial: { weights, sums } };
}

/** One trainer's chunk, opened against its on-chain commitment. */
export interface Opening {
  readonly operator: string;
  readonly weight: number;
  /** CHUNK_SIZE encoded values (padded with encoded zeros past the end of the vector). */
  readonly values: readonly number[];
  readonly path: readonly Hex[];
}

export const openingSchema = z
  .object({
    operator: z.string().regex(/^0x[0-9a-f]{40}$/),
    weight: z.number().int().min(0).max(MAX_WEIGHT),
    values: z.array(z.number().int().min(0).max(65_535)).length(CHUNK_SIZE),
    path: z
      .array(
        z
          .string()
          .regex(/^0x[0-9a-fA-F]{64}$/)
          .transform((h) => h as Hex),
      )
      .max(40),
  })
  .strict();

export function openingOf(
  operator: string,
  weight: number,
  encoded: Uint16Array,
  commitment: UpdateCommitment,
  chunk: number,
): Opening {
  return {
    operator,
    weight,
    values: [...chunkValues(encoded, chunk)],
    path: merklePath(commitment.levels, chunk) as Hex[],
  };
}

export interface OpeningCheck {
  readonly chunk: number;
  /** The partial under check. */
  readonly partial: PartialAggregate;
  /** Trainers that may appear under this child (from the tree). */
  readonly allowed: ReadonlySet<string>;
  /** On-chain commitment root and the largest admissible weight per trainer. */
  readonly committed: ReadonlyMap<string, { root: Hex; maxWeight: number }>;
}

/**
 * Verifies a child's openings for one chunk against the chain and its partial: exactly the trainers with a
 * non-zero weight, each path ending at its commitment, weights as claimed and admissible, and Σ w·values equal
 * to the partial's sums on that chunk. Throws `HierarchyError` on the first defect.
 */
export async function verifyOpenings(openings: readonly Opening[], check: OpeningCheck): Promise<void> {
  const fail = (message: string): never => {
    throw new HierarchyError("OPENING_INVALID", `chunk ${check.chunk}: ${message}`);
  };
  const expected = [...check.partial.weights].filter(([, w]) => w > 0).map(([op]) => op);
  const seen = new Set<string>();
  const sums = new Float64Array(CHUNK_SIZE);
  for (const opening of openings) {
    if (seen.has(opening.operator)) fail(`trainer ${opening.operator} opened twice`);
    seen.add(opening.operator);
    if (!check.allowed.has(opening.operator))
      fail(`trainer ${opening.operator} is not under this aggregator`);
    if (check.partial.weights.get(opening.operator) !== opening.weight)
      fail(`weight of ${opening.operator} differs from the partial`);
    const committed = check.committed.get(opening.operator);
    if (committed === undefined) return fail(`trainer ${opening.operator} did not commit`);
    if (opening.weight > committed.maxWeight) fail(`weight of ${opening.operator} exceeds its sample count`);
    const leaf = fieldToBytes32(await hashChunk(Uint16Array.from(opening.values)));
    if (merkleRootFromPath(leaf, check.chunk, opening.path).toLowerCase() !== committed.root.toLowerCase())
      fail(`opening of ${opening.operator} does not match its commitment`);
    opening.values.forEach((v, j) => (sums[j] = sums[j]! + opening.weight * v));
  }
  for (const operator of expected) if (!seen.has(operator)) fail(`no opening for ${operator}`);
  const start = check.chunk * CHUNK_SIZE;
  const end = Math.min(check.partial.sums.length, start + CHUNK_SIZE);
  if (start >= end) fail("chunk is outside the vector");
  for (let j = start; j < end; j++) {
    if (check.partial.sums[j] !== sums[j - start]) fail(`sum at coordinate ${j} does not match the openings`);
  }
}
