/**
 * Hierarchical aggregation plan: with many trainers, trainers send their updates to sub-aggregators whose
 * partial aggregates (weighted sums plus total weight) go up a tree to the top aggregator, so no node receives
 * more than `maxFanIn` messages. Sub-aggregators are the best eligible nodes by capacity × reputation, a
 * different node per group where possible, and group membership is shuffled with the round seed so trainers
 * cannot choose (or predict before the round) who aggregates them.
 */
import { createHash } from "node:crypto";

import { DEFAULT_MAX_FAN_IN } from "./constants.ts";
import { SchedulingError } from "./errors.ts";

export interface HierarchyNode {
  readonly peerId: string;
  /** Ranking for sub-aggregator duty (e.g. attested speed × reputation × bandwidth); higher is better. */
  readonly rank?: number;
  /** Opted in to aggregation duty (not low-power, enough reputation). Default true. */
  readonly eligible?: boolean;
}

export interface HierarchyOptions {
  /** Most inbound updates/partials per aggregator. */
  readonly maxFanIn?: number;
  /** Bytes of one trainer update on the wire. */
  readonly updateBytes: number;
  /** Bytes of one partial aggregate (dense; default = updateBytes). */
  readonly partialBytes?: number;
  /** The top aggregator chosen on chain, if already known. */
  readonly root?: string;
  /** Round seed for the shuffle (e.g. the round ID and randomness from chain). */
  readonly seed?: string;
}

/** One aggregation group: `aggregator` combines the inputs of `members` (trainers or lower aggregators). */
export interface AggregationGroup {
  /** 1 = receives trainer updates; the root's group has the highest level. */
  readonly level: number;
  readonly aggregator: string;
  readonly members: readonly string[];
}

export interface NodeLoad {
  /** Messages this node receives over the network. */
  fanIn: number;
  bytesIn: number;
  bytesOut: number;
}

export interface HierarchyPlan {
  readonly root: string;
  /** Number of aggregation levels (1 = flat). */
  readonly depth: number;
  readonly groups: readonly AggregationGroup[];
  /** Where each trainer sends its update. */
  readonly parentOf: ReadonlyMap<string, string>;
  readonly load: ReadonlyMap<string, NodeLoad>;
  readonly maxFanIn: number;
  readonly maxBytesIn: number;
  readonly totalBytes: number;
}

function shuffleKey(seed: string, id: string): string {
  return createHash("sha256").update(`${seed}|${id}`).digest("hex");
}

function chunk<T>(items: readonly T[], groups: number): T[][] {
  const out: T[][] = Array.from({ length: groups }, () => []);
  items.forEach((item, i) => out[i % groups]!.push(item)); // round-robin: sizes differ by at most one
  return out;
}

/**
 * Plans the aggregation tree for `trainers`. Every trainer sends its update to one level-1 aggregator (an
 * aggregator's own update stays local and costs no network bytes); each level's aggregators send one partial to
 * the level above. With N trainers and fan-in F the tree has ⌈log_F N⌉ levels.
 */
export function planHierarchy(trainers: readonly HierarchyNode[], options: HierarchyOptions): HierarchyPlan {
  const fanIn = options.maxFanIn ?? DEFAULT_MAX_FAN_IN;
  if (!Number.isInteger(fanIn) || fanIn < 2) {
    throw new SchedulingError("SCHEDULING_INVALID_INPUT", `maxFanIn must be an integer >= 2, got ${fanIn}`);
  }
  if (trainers.length === 0)
    throw new SchedulingError("SCHEDULING_INVALID_INPUT", "no trainers to aggregate");
  const ids = [...new Set(trainers.map((t) => t.peerId))];
  const seed = options.seed ?? "";
  const partialBytes = options.partialBytes ?? options.updateBytes;
  const byId = new Map(trainers.map((t) => [t.peerId, t]));
  // Aggregator candidates: eligible nodes, best rank first; the chain-chosen root is reserved for the top.
  const candidates = ids
    .filter((id) => byId.get(id)?.eligible !== false && id !== options.root)
    .sort((a, b) => (byId.get(b)?.rank ?? 0) - (byId.get(a)?.rank ?? 0) || a.localeCompare(b));
  const root = options.root ?? candidates.shift() ?? ids[0]!;
  const used = new Set<string>([root]);
  const pick = (preferFrom: readonly string[]): string => {
    const next = candidates.find((c) => !used.has(c)) ?? preferFrom.find((c) => c !== root) ?? root;
    used.add(next);
    return next;
  };

  const load = new Map<string, NodeLoad>();
  const loadOf = (id: string): NodeLoad => {
    let l = load.get(id);
    if (l === undefined) load.set(id, (l = { fanIn: 0, bytesIn: 0, bytesOut: 0 }));
    return l;
  };
  const groups: AggregationGroup[] = [];
  const parentOf = new Map<string, string>();
  const send = (from: string, to: string, bytes: number) => {
    if (from === to) return; // local, no network
    loadOf(from).bytesOut += bytes;
    const l = loadOf(to);
    l.fanIn += 1;
    l.bytesIn += bytes;
  };
  for (const id of ids) loadOf(id);

  // Level by level: `current` are the senders of this level, `bytes` what each sends.
  let current = [...ids].sort((a, b) => shuffleKey(seed, a).localeCompare(shuffleKey(seed, b)));
  let bytes = options.updateBytes;
  let level = 1;
  for (;;) {
    const remote = current.filter((id) => id !== root);
    if (remote.length <= fanIn) {
      groups.push({ level, aggregator: root, members: current });
      for (const id of current) {
        send(id, root, bytes);
        if (level === 1) parentOf.set(id, root);
      }
      break;
    }
    const groupCount = Math.ceil(current.length / fanIn);
    const parts = chunk(current, groupCount);
    const next: string[] = [];
    for (const members of parts) {
      // the aggregator of a group is preferably one of its members (its own input stays local)
      const own = members.find((m) => !used.has(m) && candidates.includes(m));
      const aggregator = own ?? pick(members);
      used.add(aggregator);
      groups.push({ level, aggregator, members });
      for (const id of members) {
        send(id, aggregator, bytes);
        if (level === 1) parentOf.set(id, aggregator);
      }
      next.push(aggregator);
    }
    current = next;
    bytes = partialBytes;
    level++;
  }
  let maxFan = 0;
  let maxBytesIn = 0;
  let totalBytes = 0;
  for (const l of load.values()) {
    maxFan = Math.max(maxFan, l.fanIn);
    maxBytesIn = Math.max(maxBytesIn, l.bytesIn);
    totalBytes += l.bytesIn;
  }
  return { root, depth: level, groups, parentOf, load, maxFanIn: maxFan, maxBytesIn, totalBytes };
}

/** The flat plan for comparison: every trainer sends to one aggregator. */
export function planFlat(
  trainers: readonly HierarchyNode[],
  options: Omit<HierarchyOptions, "maxFanIn">,
): HierarchyPlan {
  return planHierarchy(trainers, { ...options, maxFanIn: Math.max(2, trainers.length) });
}
