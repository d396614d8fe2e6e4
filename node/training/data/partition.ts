/**
 * Splits a dataset across simulated nodes: IID, label shards (McMahan et al. 2017), Dirichlet(alpha)
 * label skew (Hsu et al. 2019) and whole groups per node (a text topic, like LEAF's Shakespeare roles).
 * All seeded.
 */
import { Rng } from "../../core/rng.ts";
import { subset } from "./dataset.ts";
import type { Dataset } from "./dataset.ts";

export type PartitionScheme =
  | { kind: "iid" }
  | { kind: "shards"; shardsPerNode: number }
  | { kind: "dirichlet"; alpha: number }
  | { kind: "group" };

/** Raised for impossible partition requests. */
export class PartitionError extends Error {
  override readonly name = "PartitionError";
  readonly code = "PARTITION";
}

function byLabel(data: Dataset, rng: Rng): number[][] {
  const groups: number[][] = Array.from({ length: data.classes }, () => []);
  for (let i = 0; i < data.count; i++) groups[data.labels[i]!]!.push(i);
  return groups.map((g) => rng.shuffle(g));
}

/**
 * Whole groups per node: groups in decreasing size each go to the node holding the fewest rows so far
 * (greedy balancing), so no group is split and node sizes stay within one group of each other.
 */
function byGroup(data: Dataset, nodes: number): number[][] {
  if (data.groups === undefined) throw new PartitionError("the dataset has no groups to partition by");
  const rowsOf = new Map<number, number[]>();
  for (let i = 0; i < data.count; i++) {
    const group = data.groups[i]!;
    let rows = rowsOf.get(group);
    if (rows === undefined) rowsOf.set(group, (rows = []));
    rows.push(i);
  }
  if (rowsOf.size < nodes) throw new PartitionError(`${rowsOf.size} groups cannot cover ${nodes} nodes`);
  const parts: number[][] = Array.from({ length: nodes }, () => []);
  const bySize = [...rowsOf.entries()].sort((a, b) => b[1].length - a[1].length || a[0] - b[0]);
  for (const [, rows] of bySize) {
    const smallest = parts.reduce((a, b) => (b.length < a.length ? b : a));
    for (const row of rows) smallest.push(row);
  }
  return parts;
}

/** Row indices of each node's share. */
export function partitionIndices(
  data: Dataset,
  nodes: number,
  scheme: PartitionScheme,
  seed = 1,
): number[][] {
  if (!Number.isInteger(nodes) || nodes < 1)
    throw new PartitionError(`node count must be a positive integer, got ${nodes}`);
  if (nodes > data.count) throw new PartitionError(`cannot split ${data.count} rows across ${nodes} nodes`);
  const rng = new Rng(seed);
  const parts: number[][] = Array.from({ length: nodes }, () => []);
  if (scheme.kind === "iid") {
    rng
      .shuffle(Array.from({ length: data.count }, (_, i) => i))
      .forEach((row, i) => parts[i % nodes]!.push(row));
    return parts;
  }
  if (scheme.kind === "group") return byGroup(data, nodes);
  if (scheme.kind === "shards") {
    const shards = nodes * scheme.shardsPerNode;
    if (shards > data.count) throw new PartitionError(`${shards} shards exceed ${data.count} rows`);
    const sorted = byLabel(data, rng).flat();
    const size = Math.floor(sorted.length / shards);
    const shardOrder = rng.shuffle(Array.from({ length: shards }, (_, i) => i));
    shardOrder.forEach((shard, i) =>
      parts[i % nodes]!.push(...sorted.slice(shard * size, (shard + 1) * size)),
    );
    return parts;
  }
  if (!(scheme.alpha > 0)) throw new PartitionError(`Dirichlet alpha must be > 0, got ${scheme.alpha}`);
  for (const rows of byLabel(data, rng)) {
    const shares = rng.dirichlet(scheme.alpha, nodes);
    let start = 0;
    let cumulative = 0;
    shares.forEach((share, node) => {
      cumulative += share;
      const end = node === nodes - 1 ? rows.length : Math.round(cumulative * rows.length);
      parts[node]!.push(...rows.slice(start, end));
      start = end;
    });
  }
  // Every node needs at least one row to train: move one from the largest part to each empty part.
  for (const part of parts) {
    if (part.length > 0) continue;
    const largest = parts.reduce((a, b) => (b.length > a.length ? b : a));
    part.push(largest.pop()!);
  }
  return parts;
}

/** Each node's dataset. */
export function partition(data: Dataset, nodes: number, scheme: PartitionScheme, seed = 1): Dataset[] {
  return partitionIndices(data, nodes, scheme, seed).map((rows) => subset(data, rows));
}
