/**
 * Work assignment for one round: each trainer's share of the round's optimizer steps is proportional to its
 * measured speed × reputation, capped so no node holds more than `maxShare` of the round, with a per-node
 * deadline derived from its speed. When nodes fall behind or leave, `rebalance` moves their remaining steps to
 * nodes with spare time; at the deadline `closeRound` proceeds with a quorum and drops stragglers instead of
 * waiting for them.
 */
import { MIN_SCHEDULING_REPUTATION } from "../../../node/reputation/constants.ts";
import {
  DEADLINE_OVERHEAD_MS,
  DEADLINE_SLACK,
  DEFAULT_QUORUM,
  MAX_SHARE,
} from "../../../node/scheduling/constants.ts";
import { SchedulingError } from "../../../node/scheduling/errors.ts";
import { deadlineFor } from "../../../node/scheduling/deadline.ts";
import type { DeadlineOptions } from "../../../node/scheduling/deadline.ts";

export { deadlineFor };
export type { DeadlineOptions };

/** A candidate trainer as scheduling sees it. */
export interface SchedulableNode {
  readonly peerId: string;
  /** Measured speed in samples per second (attested, or observed in earlier rounds of this task). */
  readonly samplesPerSec: number;
  /** Reputation in [0, 1] (node/reputation). */
  readonly reputation: number;
}

export interface AssignOptions extends DeadlineOptions {
  /** Samples per optimizer step. */
  readonly batchSize: number;
  /** Round start (unix ms or virtual clock). */
  readonly startMs: number;
  /** Hard round deadline; when given, nobody is assigned more than it can finish by then. */
  readonly deadlineMs?: number;
  readonly minReputation?: number;
  /** Largest fraction of the round one node may hold (relaxed when there are too few nodes to honour it). */
  readonly maxShare?: number;
}

/** One node's part of the round. */
export interface WorkShare {
  readonly peerId: string;
  readonly steps: number;
  /** Steps per second expected from this node. */
  readonly stepsPerSec: number;
  /** Share of the round's assigned steps, in [0, 1]. */
  readonly fraction: number;
  /** When its update must have arrived. */
  readonly deadlineMs: number;
}

export interface Assignment {
  readonly startMs: number;
  /** The round's deadline: the latest share deadline, or the given hard deadline. */
  readonly deadlineMs: number;
  readonly totalSteps: number;
  readonly assignedSteps: number;
  /** Steps nobody could finish by the hard deadline. */
  readonly unassignedSteps: number;
  readonly shares: readonly WorkShare[];
  readonly excluded: readonly { readonly peerId: string; readonly reason: string }[];
  readonly slack: number;
  readonly overheadMs: number;
}

/**
 * Splits `total` in proportion to `weights` with per-item `caps` (water-filling: capped items keep their cap,
 * the rest is re-split among the others), then rounds to integers by largest remainder without breaking caps.
 */
export function proportionalSplit(
  total: number,
  weights: readonly number[],
  caps: readonly number[],
): number[] {
  const n = weights.length;
  const out = new Array<number>(n).fill(0);
  const open = new Set(weights.map((w, i) => (w > 0 && caps[i]! > 0 ? i : -1)).filter((i) => i >= 0));
  let remaining = total;
  while (open.size > 0 && remaining > 1e-9) {
    const sum = [...open].reduce((s, i) => s + weights[i]!, 0);
    let capped = false;
    for (const i of open) {
      const want = (remaining * weights[i]!) / sum;
      if (out[i]! + want >= caps[i]!) {
        remaining -= caps[i]! - out[i]!;
        out[i] = caps[i]!;
        open.delete(i);
        capped = true;
      }
    }
    if (capped) continue;
    for (const i of open) out[i] = out[i]! + (remaining * weights[i]!) / sum;
    remaining = 0;
  }
  // integer rounding: floor, then hand out the leftover units by largest fractional part (within caps)
  const floors = out.map((v) => Math.floor(v + 1e-9));
  let left = Math.round(out.reduce((s, v) => s + v, 0)) - floors.reduce((s, v) => s + v, 0);
  const order = out.map((v, i) => [v - floors[i]!, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    if (floors[i]! + 1 <= Math.floor(caps[i]! + 1e-9)) {
      floors[i]!++;
      left--;
    }
  }
  return floors;
}

/**
 * Assigns `totalSteps` optimizer steps among `nodes` in proportion to speed × reputation.
 * Nodes below `minReputation` or without a measured speed are excluded (listed with the reason).
 */
export function assignWork(
  nodes: readonly SchedulableNode[],
  totalSteps: number,
  options: AssignOptions,
): Assignment {
  if (!Number.isInteger(totalSteps) || totalSteps < 0) {
    throw new SchedulingError(
      "SCHEDULING_INVALID_INPUT",
      `totalSteps must be a non-negative integer, got ${totalSteps}`,
    );
  }
  if (!(options.batchSize > 0)) {
    throw new SchedulingError("SCHEDULING_INVALID_INPUT", `batchSize must be > 0, got ${options.batchSize}`);
  }
  const slack = options.slack ?? DEADLINE_SLACK;
  const overheadMs = options.overheadMs ?? DEADLINE_OVERHEAD_MS;
  const minReputation = options.minReputation ?? MIN_SCHEDULING_REPUTATION;
  const excluded: { peerId: string; reason: string }[] = [];
  const seen = new Set<string>();
  const eligible: { node: SchedulableNode; stepsPerSec: number }[] = [];
  for (const node of nodes) {
    if (seen.has(node.peerId)) {
      excluded.push({ peerId: node.peerId, reason: "duplicate" });
      continue;
    }
    seen.add(node.peerId);
    if (!(node.samplesPerSec > 0) || !Number.isFinite(node.samplesPerSec)) {
      excluded.push({ peerId: node.peerId, reason: "no measured speed" });
    } else if (!(node.reputation >= minReputation)) {
      excluded.push({
        peerId: node.peerId,
        reason: `reputation ${node.reputation.toFixed(2)} < ${minReputation}`,
      });
    } else {
      eligible.push({ node, stepsPerSec: node.samplesPerSec / options.batchSize });
    }
  }
  const n = eligible.length;
  const maxShare = Math.max(options.maxShare ?? MAX_SHARE, n === 0 ? 1 : 1 / n);
  const shareCap = Math.ceil(maxShare * totalSteps);
  const caps = eligible.map(({ stepsPerSec }) => {
    if (options.deadlineMs === undefined) return shareCap;
    const budgetMs = options.deadlineMs - options.startMs - overheadMs;
    return Math.min(shareCap, Math.max(0, Math.floor((budgetMs * stepsPerSec) / (1000 * slack))));
  });
  const steps = proportionalSplit(
    totalSteps,
    eligible.map(({ node, stepsPerSec }) => stepsPerSec * node.reputation),
    caps,
  );
  const assignedSteps = steps.reduce((s, v) => s + v, 0);
  const shares: WorkShare[] = [];
  eligible.forEach(({ node, stepsPerSec }, i) => {
    const s = steps[i]!;
    if (s === 0) {
      excluded.push({ peerId: node.peerId, reason: "no share (too slow for the deadline or rounding)" });
      return;
    }
    const own = options.startMs + deadlineFor(stepsPerSec, s, { slack, overheadMs });
    shares.push({
      peerId: node.peerId,
      steps: s,
      stepsPerSec,
      fraction: assignedSteps === 0 ? 0 : s / assignedSteps,
      deadlineMs: options.deadlineMs === undefined ? own : Math.min(own, options.deadlineMs),
    });
  });
  const latest = shares.reduce((m, s) => Math.max(m, s.deadlineMs), options.startMs);
  return {
    startMs: options.startMs,
    deadlineMs: options.deadlineMs ?? latest,
    totalSteps,
    assignedSteps,
    unassignedSteps: totalSteps - assignedSteps,
    shares,
    excluded,
    slack,
    overheadMs,
  };
}

/** What a trainer reported (or what the scheduler knows) about its progress. */
export interface Progress {
  readonly stepsDone: number;
  /** When `stepsDone` was measured. */
  readonly atMs: number;
  /** The node disconnected or announced it is leaving. */
  readonly left?: boolean;
}

export interface Rebalanced {
  readonly assignment: Assignment;
  readonly moves: readonly { readonly from: string; readonly to: string; readonly steps: number }[];
  /** Nodes whose whole remaining share was taken away (left, or stalled). */
  readonly dropped: readonly string[];
  /** Steps that could not be placed anywhere before the deadline (the round does without them). */
  readonly abandonedSteps: number;
}

/**
 * Mid-round reassignment. A node that left, or that has reported no progress since the start overhead, loses
 * its whole share (its partial work never arrives); a node whose observed rate would miss its deadline keeps what it can still finish and
 * loses the rest. Reclaimed steps go to healthy nodes in proportion to the spare time they have before the
 * round deadline (at their observed rate, with the same slack). The round deadline never moves.
 */
export function rebalance(
  assignment: Assignment,
  progress: ReadonlyMap<string, Progress>,
  nowMs: number,
): Rebalanced {
  const slack = assignment.slack;
  const computeStart = assignment.startMs + assignment.overheadMs;
  const elapsedSec = Math.max(0, (nowMs - computeStart) / 1000);
  const state = assignment.shares.map((share) => {
    const p = progress.get(share.peerId);
    const done = Math.min(share.steps, p?.stepsDone ?? 0);
    const remaining = share.steps - done;
    const observedSec = p === undefined ? elapsedSec : Math.max(0, (p.atMs - computeStart) / 1000);
    const rate = observedSec > 0 ? done / observedSec : share.stepsPerSec;
    const leftSec = Math.max(0, (share.deadlineMs - nowMs - assignment.overheadMs / 2) / 1000);
    let keep = remaining;
    let status: "healthy" | "straggler" | "gone" = "healthy";
    if (p?.left === true || (elapsedSec > 0 && rate === 0 && remaining > 0)) {
      // A node that leaves never sends its update: its finished steps are lost too, so the whole share moves.
      return { share, done: 0, keep: 0, reclaimed: share.steps, spare: 0, status: "gone" as const };
    } else if (remaining > rate * leftSec) {
      keep = Math.floor(rate * leftSec);
      status = "straggler";
    }
    const roundLeftSec = Math.max(0, (assignment.deadlineMs - nowMs - assignment.overheadMs / 2) / 1000);
    const spare =
      status === "healthy" ? Math.max(0, Math.floor((rate * roundLeftSec) / slack) - remaining) : 0;
    return { share, done, keep, reclaimed: remaining - keep, spare, status };
  });
  const reclaimed = state.reduce((s, x) => s + x.reclaimed, 0);
  const gifts = proportionalSplit(
    Math.min(
      reclaimed,
      state.reduce((s, x) => s + x.spare, 0),
    ),
    state.map((x) => x.spare),
    state.map((x) => x.spare),
  );
  const placed = gifts.reduce((s, v) => s + v, 0);
  // record moves from donors to recipients in order (for logs and for re-sending work orders)
  const moves: { from: string; to: string; steps: number }[] = [];
  const donors = state.filter((x) => x.reclaimed > 0).map((x) => ({ id: x.share.peerId, left: x.reclaimed }));
  state.forEach((x, i) => {
    let gift = gifts[i]!;
    for (const d of donors) {
      if (gift === 0) break;
      const take = Math.min(gift, d.left);
      if (take === 0) continue;
      moves.push({ from: d.id, to: x.share.peerId, steps: take });
      d.left -= take;
      gift -= take;
    }
  });
  const shares: WorkShare[] = [];
  const dropped: string[] = [];
  state.forEach((x, i) => {
    const steps = x.done + x.keep + gifts[i]!;
    if (x.status === "gone" || steps === 0) {
      dropped.push(x.share.peerId);
      return;
    }
    shares.push({ ...x.share, steps });
  });
  const assignedSteps = shares.reduce((s, x) => s + x.steps, 0);
  return {
    assignment: {
      ...assignment,
      assignedSteps,
      unassignedSteps: assignment.totalSteps - assignedSteps,
      shares: shares.map((s) => ({ ...s, fraction: assignedSteps === 0 ? 0 : s.steps / assignedSteps })),
    },
    moves,
    dropped,
    abandonedSteps: reclaimed - placed,
  };
}

export type RoundDecision =
  /** Every share arrived. */
  | { readonly kind: "complete"; readonly receivedFraction: 1 }
  /** Deadline passed with a quorum: aggregate what arrived, drop the stragglers. */
  | { readonly kind: "proceed"; readonly receivedFraction: number; readonly stragglers: readonly string[] }
  /** Before the deadline and not everything arrived: keep waiting, at most until `untilMs`. */
  | { readonly kind: "wait"; readonly receivedFraction: number; readonly untilMs: number }
  /** Deadline passed without a quorum: the round fails (trainers that delivered keep their credit). */
  | { readonly kind: "fail"; readonly receivedFraction: number; readonly stragglers: readonly string[] };

/**
 * Decides whether the round can close. `received` maps trainers whose update arrived to the steps it covers.
 * The quorum is a share of the *originally requested* steps (`totalSteps`), so reassignment cannot shrink it.
 */
export function closeRound(
  assignment: Assignment,
  received: ReadonlyMap<string, number>,
  nowMs: number,
  quorum: number = DEFAULT_QUORUM,
): RoundDecision {
  if (!(quorum > 0 && quorum <= 1))
    throw new SchedulingError("SCHEDULING_INVALID_INPUT", `quorum must be in (0, 1], got ${quorum}`);
  let got = 0;
  for (const share of assignment.shares) got += Math.min(share.steps, received.get(share.peerId) ?? 0);
  const receivedFraction = assignment.totalSteps === 0 ? 1 : got / assignment.totalSteps;
  const missing = assignment.shares
    .filter((s) => (received.get(s.peerId) ?? 0) < s.steps)
    .map((s) => s.peerId);
  if (missing.length === 0 && got >= assignment.assignedSteps)
    return { kind: "complete", receivedFraction: 1 };
  if (nowMs < assignment.deadlineMs)
    return { kind: "wait", receivedFraction, untilMs: assignment.deadlineMs };
  return receivedFraction >= quorum
    ? { kind: "proceed", receivedFraction, stragglers: missing }
    : { kind: "fail", receivedFraction, stragglers: missing };
}
