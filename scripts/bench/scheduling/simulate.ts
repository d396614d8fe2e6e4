/**
 * A virtual-time simulation of one round's training phase on heterogeneous nodes with stragglers and leavers,
 * driving the real scheduling functions (`assignWork`, `rebalance`, `closeRound`). Used by
 * `npm run bench:scheduling` and the tests to compare capacity-proportional assignment with deadline dropping
 * against the naive baseline (equal shares, wait for everyone until the round timeout).
 */
import { Rng } from "../../../node/core/rng.ts";
import { assignWork, closeRound, rebalance } from "./assign.ts";
import type { Assignment, Progress } from "./assign.ts";

export interface SimNode {
  readonly peerId: string;
  /** True speed (samples/s) until a slowdown. */
  readonly samplesPerSec: number;
  /** What scheduling believes (attested), usually within noise of the truth. */
  readonly attestedSamplesPerSec: number;
  readonly reputation: number;
  /** From this time (ms after round start) the node runs `factor` times slower (thermal throttling, contention). */
  readonly slowdown?: { readonly atMs: number; readonly factor: number };
  /** The node disappears at this time; its update never arrives. */
  readonly leaveAtMs?: number;
}

export interface SimRoundOptions {
  readonly totalSteps: number;
  readonly batchSize: number;
  /** Model download before training and upload after it. */
  readonly downloadMs: number;
  readonly uploadMs: number;
  /** Hard round timeout: the naive policy waits for everyone until then. */
  readonly timeoutMs: number;
  /** Fractions of the deadline at which the weighted policy rebalances (default [0.5]). */
  readonly checkpoints?: readonly number[];
  readonly quorum?: number;
}

export interface SimRoundResult {
  readonly policy: "naive" | "weighted";
  /** When the aggregator can start: everything arrived, or the deadline passed with a quorum, or the timeout. */
  readonly roundMs: number;
  /** Steps that arrived in time, over the steps requested. */
  readonly completedFraction: number;
  readonly failed: boolean;
  readonly droppedNodes: number;
  readonly movedSteps: number;
}

/** Steps a node has finished by time `t` (ms after round start), from compute start `downloadMs`. */
export function stepsBy(node: SimNode, t: number, batchSize: number, downloadMs: number): number {
  const end = Math.min(t, node.leaveAtMs ?? Infinity);
  if (end <= downloadMs) return 0;
  const rate = node.samplesPerSec / batchSize / 1000; // steps per ms
  const slowAt = Math.max(downloadMs, node.slowdown?.atMs ?? Infinity);
  const fast = Math.min(end, slowAt) - downloadMs;
  const slow = Math.max(0, end - slowAt);
  return fast * rate + (slow * rate) / (node.slowdown?.factor ?? 1);
}

/** When a node finishes `steps` (ms after round start), or Infinity if it leaves first. */
export function finishTime(node: SimNode, steps: number, batchSize: number, downloadMs: number): number {
  const rate = node.samplesPerSec / batchSize / 1000;
  const slowAt = Math.max(downloadMs, node.slowdown?.atMs ?? Infinity);
  const fastSteps = (slowAt - downloadMs) * rate;
  const t =
    steps <= fastSteps
      ? downloadMs + steps / rate
      : slowAt + ((steps - fastSteps) * (node.slowdown?.factor ?? 1)) / rate;
  return t > (node.leaveAtMs ?? Infinity) ? Infinity : t;
}

/** Naive baseline: equal shares, wait for all updates (until the timeout). */
export function simulateNaive(nodes: readonly SimNode[], o: SimRoundOptions): SimRoundResult {
  const base = Math.floor(o.totalSteps / nodes.length);
  const extra = o.totalSteps - base * nodes.length;
  let last = 0;
  let arrived = 0;
  let dropped = 0;
  nodes.forEach((node, i) => {
    const steps = base + (i < extra ? 1 : 0);
    const at = finishTime(node, steps, o.batchSize, o.downloadMs) + o.uploadMs;
    if (at <= o.timeoutMs) {
      arrived += steps;
      last = Math.max(last, at);
    } else dropped++;
  });
  const quorum = o.quorum ?? 0.6;
  const roundMs = dropped > 0 ? o.timeoutMs : last;
  const completedFraction = arrived / o.totalSteps;
  return {
    policy: "naive",
    roundMs,
    completedFraction,
    failed: completedFraction < quorum,
    droppedNodes: dropped,
    movedSteps: 0,
  };
}

/** Capacity × reputation proportional shares, deadlines from measured speed, rebalancing, quorum close. */
export function simulateWeighted(nodes: readonly SimNode[], o: SimRoundOptions): SimRoundResult {
  const byId = new Map(nodes.map((n) => [n.peerId, n]));
  let assignment: Assignment = assignWork(
    nodes.map((n) => ({
      peerId: n.peerId,
      samplesPerSec: n.attestedSamplesPerSec,
      reputation: n.reputation,
    })),
    o.totalSteps,
    { batchSize: o.batchSize, startMs: 0, overheadMs: o.downloadMs + o.uploadMs },
  );
  const deadline = Math.min(assignment.deadlineMs, o.timeoutMs);
  assignment = { ...assignment, deadlineMs: deadline };
  let moved = 0;
  const dropped = new Set<string>();
  for (const fraction of o.checkpoints ?? [0.5]) {
    const now = deadline * fraction;
    const progress = new Map<string, Progress>();
    for (const share of assignment.shares) {
      const node = byId.get(share.peerId)!;
      const left = (node.leaveAtMs ?? Infinity) <= now;
      // progress reports arrive only from nodes still present
      progress.set(share.peerId, {
        stepsDone: left ? 0 : Math.floor(stepsBy(node, now, o.batchSize, o.downloadMs)),
        atMs: now,
        left,
      });
    }
    const r = rebalance(assignment, progress, now);
    assignment = r.assignment;
    moved += r.moves.reduce((s, m) => s + m.steps, 0);
    for (const id of r.dropped) dropped.add(id);
  }
  // Arrival times with the final shares; the round closes when all arrived or at the deadline.
  const arrivals = assignment.shares.map((s) => ({
    peerId: s.peerId,
    steps: s.steps,
    at: finishTime(byId.get(s.peerId)!, s.steps, o.batchSize, o.downloadMs) + o.uploadMs,
  }));
  const lastArrival = arrivals.reduce((m, a) => Math.max(m, a.at), 0);
  const closeAt = Math.min(lastArrival, deadline);
  const received = new Map(arrivals.filter((a) => a.at <= closeAt).map((a) => [a.peerId, a.steps]));
  const decision = closeRound(assignment, received, closeAt, o.quorum);
  const got = [...received.values()].reduce((s, v) => s + v, 0);
  return {
    policy: "weighted",
    roundMs: decision.kind === "wait" ? deadline : closeAt,
    completedFraction: got / o.totalSteps,
    failed: decision.kind === "fail",
    droppedNodes: dropped.size + arrivals.filter((a) => a.at > closeAt).length,
    movedSteps: moved,
  };
}

export interface ScenarioOptions {
  readonly nodes: number;
  readonly seed: number;
  /** Median speed in samples/s and the log-normal spread of speeds (0.8 ≈ 10× between the 5th and 95th %). */
  readonly medianSamplesPerSec: number;
  readonly speedSpread: number;
  /** Relative noise of attested vs true speed. */
  readonly attestationNoise: number;
  readonly stragglerFraction: number;
  readonly stragglerFactor: number;
  readonly leaverFraction: number;
  /** Used to place slowdowns and departures inside the round. */
  readonly expectedRoundMs: number;
}

/** Generates a heterogeneous population: log-normal speeds, some stragglers and leavers, varied reputation. */
export function makeScenario(o: ScenarioOptions): SimNode[] {
  const rng = new Rng(o.seed);
  return Array.from({ length: o.nodes }, (_, i) => {
    const speed = o.medianSamplesPerSec * Math.exp(o.speedSpread * rng.normal());
    const straggler = rng.next() < o.stragglerFraction;
    const leaver = !straggler && rng.next() < o.leaverFraction;
    return {
      peerId: `node-${i}`,
      samplesPerSec: speed,
      attestedSamplesPerSec: speed * (1 + o.attestationNoise * (2 * rng.next() - 1)),
      reputation: 0.6 + 0.4 * rng.next(),
      ...(straggler
        ? { slowdown: { atMs: rng.next() * 0.5 * o.expectedRoundMs, factor: o.stragglerFactor } }
        : {}),
      ...(leaver ? { leaveAtMs: (0.1 + 0.6 * rng.next()) * o.expectedRoundMs } : {}),
    };
  });
}
