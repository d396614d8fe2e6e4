/**
 * The faults the soak injects, each as an operator's world would deliver it:
 * - `kill-30pct`: 30% of the nodes SIGKILLed (power cut), restarted right away by their supervisor;
 * - `kill-aggregator`: the round's aggregator SIGKILLed in a given phase (open: the previous round's
 *   aggregator, likely a candidate again), restarted right away;
 * - `rpc-outage`: the RPC endpoint refuses connections for `RPC_OUTAGE_MS`;
 * - `disk-full`: the tmpfs under one node's data directory filled to `DISK_FULL_LEAVE_MB` free for
 *   `DISK_FULL_MS`, then freed;
 * - `wipe-restart`: a node SIGKILLed, its state deleted (keys and config kept), restarted;
 * - `wipe-aggregator`: the same to the round's aggregator (challenging: it must pull the updates back from its
 *   peers to answer the sampled challenges, aggregation-recovery.ts);
 * - `freeze-aggregator`: the selected aggregator SIGSTOPped before it posts (a hung process) for `FREEZE_MS`,
 *   past its aggregate window: its backup reports the miss, takes the round over and finalizes it.
 */
import { execFile } from "node:child_process";
import { rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

import { createPublicClient, http } from "viem";
import type { Address } from "viem";

import { RoundState, trainingRoundsAbi } from "../../../node/chain/contracts.ts";
import type { SoakNetwork } from "./network.ts";
import type { SoakNode } from "./node-process.ts";
import type { Phase, RoundTrack } from "./observer.ts";

const run = promisify(execFile);
/** How long the RPC endpoint stays unreachable (ms): the 30 s. */
export const RPC_OUTAGE_MS = 30_000;
/** How long the disk stays full (ms): several of the guard's 5 s statfs checks and at least one round phase. */
export const DISK_FULL_MS = 30_000;
/** Free space left on the filled tmpfs (MiB): below the node's "disk full" line (32 MiB, an eighth of the tmpfs). */
export const DISK_FULL_LEAVE_MB = 16;
/** How long a frozen aggregator stays stopped (ms): past the 15 s aggregate window and its backup's report. */
export const FREEZE_MS = 30_000;
/** Share of the nodes a mass kill takes down (the 30%). */
export const MASS_KILL_FRACTION = 0.3;

export type FaultKind =
  | "kill-30pct"
  | "kill-aggregator"
  | "rpc-outage"
  | "disk-full"
  | "wipe-restart"
  | "wipe-aggregator"
  | "freeze-aggregator";

export interface FaultPlan {
  readonly kind: FaultKind;
  /** The phase of the target round in which the fault starts. */
  readonly phase: Exclude<Phase, "finalized" | "failed">;
}

export interface FaultRecord {
  readonly kind: FaultKind;
  readonly phase: string;
  readonly round: bigint;
  readonly targets: number[];
  readonly at: number;
  /** Wall-clock seconds until every target node ran again (kills) or the fault was lifted (outage, disk). */
  durationS: number;
  note: string;
}

const LIVE_PHASES = ["open", "aggregating", "challenging"] as const;

/** One pass over every fault, the aggregator kill in each phase; other faults at a random phase. */
export function faultCycle(random: () => number, withDisk: boolean): FaultPlan[] {
  const pick = () => LIVE_PHASES[Math.floor(random() * LIVE_PHASES.length)]!;
  const plans: FaultPlan[] = [
    { kind: "kill-30pct", phase: pick() },
    { kind: "kill-aggregator", phase: "open" },
    { kind: "rpc-outage", phase: pick() },
    { kind: "kill-aggregator", phase: "aggregating" },
    { kind: "wipe-restart", phase: pick() },
    { kind: "kill-aggregator", phase: "challenging" },
    { kind: "wipe-aggregator", phase: "challenging" },
    { kind: "freeze-aggregator", phase: "aggregating" },
  ];
  if (withDisk) plans.push({ kind: "disk-full", phase: pick() });
  return plans;
}

const FAULT_KINDS: readonly FaultKind[] = [
  "kill-30pct",
  "kill-aggregator",
  "rpc-outage",
  "disk-full",
  "wipe-restart",
  "wipe-aggregator",
  "freeze-aggregator",
];

/** `--only=kind:phase,...` (e.g. `kill-aggregator:aggregating`); undefined when not given. */
export function parseFaultPlans(text: string | undefined): FaultPlan[] | undefined {
  if (text === undefined || text === "") return undefined;
  return text.split(",").map((item) => {
    const [kind, phase] = item.split(":");
    const known = FAULT_KINDS.find((k) => k === kind);
    const live = LIVE_PHASES.find((p) => p === phase);
    if (known === undefined || live === undefined)
      throw new RangeError(
        `--only: "${item}" is not <fault>:<phase> with a fault of ${FAULT_KINDS.join(", ")} and a phase of ${LIVE_PHASES.join(", ")}`,
      );
    return { kind: known, phase: live };
  });
}

/** A deterministic PRNG (mulberry32) so a run's fault schedule can be replayed with `--seed`. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultContext {
  readonly network: SoakNetwork;
  readonly random: () => number;
  /** The previous round's aggregator (for a kill in the open phase). */
  readonly previousAggregator: string | undefined;
  /** Restarts a node with the running nodes as bootstrap peers; marks it busy for the supervisor meanwhile. */
  readonly restart: (node: SoakNode) => Promise<void>;
  /**
   * Nodes a fault has down on purpose: the supervisor does not restart them. A fault marks its targets before it
   * kills them (restart clears the mark): the supervisor once started a wiped node a second time while the fault
   * was still deleting its data, and the second start exited 2 on the data-directory lock.
   */
  readonly busy: Set<SoakNode>;
  /**
   * Nodes no fault targets (`--spare`): they live the whole run, so their RSS over one process lifetime of hours
   * tells a slow leak from collection cycles, which the other nodes' lives (minutes, between kills) cannot. The
   * soak holds a fault aimed at a spared aggregator for a round with another one (run.ts); one whose target turned
   * spared during its delay is skipped here.
   */
  readonly spared: ReadonlySet<SoakNode>;
}

function nodeOf(network: SoakNetwork, address: string | undefined): SoakNode | undefined {
  if (address === undefined) return undefined;
  return network.nodes.find((n) => n.address?.toLowerCase() === address.toLowerCase());
}

/** Injects one fault into `round`; resolves once the fault is over (nodes back, endpoint or disk restored). */
export async function inject(
  plan: FaultPlan,
  round: RoundTrack,
  context: FaultContext,
): Promise<FaultRecord> {
  const { network, random } = context;
  const started = Date.now();
  const record: FaultRecord = {
    kind: plan.kind,
    phase: plan.phase,
    round: round.id,
    targets: [],
    at: started,
    durationS: 0,
    note: "",
  };
  const running = network.nodes.filter((n) => n.running && !context.spared.has(n));
  const spared = (target: SoakNode | undefined): boolean => {
    if (target === undefined || !context.spared.has(target)) return false;
    record.note = "the aggregator is spared (--spare): skipped";
    return true;
  };
  const kill = async (nodes: SoakNode[], wipe: boolean): Promise<void> => {
    record.targets.push(...nodes.map((n) => n.index));
    for (const node of nodes) context.busy.add(node);
    for (const node of nodes) node.note(`fault ${plan.kind} in round ${round.id} (${plan.phase})`);
    await Promise.all(nodes.map((n) => n.kill()));
    if (wipe) for (const node of nodes) await node.wipe();
    await Promise.all(nodes.map((n) => context.restart(n)));
  };
  switch (plan.kind) {
    case "kill-30pct": {
      const count = Math.max(1, Math.round(network.nodes.length * MASS_KILL_FRACTION));
      const shuffled = [...running].sort(() => random() - 0.5);
      await kill(shuffled.slice(0, count), false);
      break;
    }
    case "kill-aggregator":
    case "wipe-aggregator": {
      const target =
        nodeOf(network, plan.phase === "open" ? context.previousAggregator : round.aggregator) ??
        running[Math.floor(random() * running.length)];
      record.note =
        round.aggregator === undefined && plan.phase !== "open" ? "no aggregator yet: random" : "";
      if (target !== undefined && !spared(target)) await kill([target], plan.kind === "wipe-aggregator");
      break;
    }
    case "wipe-restart": {
      const target = running[Math.floor(random() * running.length)];
      if (target !== undefined) await kill([target], true);
      break;
    }
    case "freeze-aggregator": {
      const target = nodeOf(network, round.aggregator);
      if (spared(target)) break;
      // Only a freeze before the post makes a takeover; after it the node would merely answer late.
      if (target === undefined || !(await stillAggregating(network, round.id))) {
        record.note =
          target === undefined ? "no aggregator yet: skipped" : "posted before the freeze: skipped";
        break;
      }
      record.targets.push(target.index);
      target.note(`fault freeze-aggregator in round ${round.id} (${plan.phase})`);
      await target.freeze(FREEZE_MS);
      break;
    }
    case "rpc-outage": {
      await network.proxy.cut();
      await new Promise((resolve) => setTimeout(resolve, RPC_OUTAGE_MS));
      await network.proxy.restore();
      break;
    }
    case "disk-full": {
      const node = network.diskNode;
      const mount = network.diskMount;
      if (node === undefined || mount === undefined) {
        record.note = "skipped: no tmpfs";
        break;
      }
      record.targets.push(node.index);
      node.note(`fault disk-full in round ${round.id} (${plan.phase})`);
      const info = await statfs(mount);
      const free = info.bavail * info.bsize;
      const fill = Math.max(0, free - DISK_FULL_LEAVE_MB * 2 ** 20);
      const filler = join(mount, "soak-filler");
      await run("fallocate", ["-l", String(fill), filler]);
      const noticed = node.watch(/disk.{0,60}full|ENOSPC/i);
      await new Promise((resolve) => setTimeout(resolve, DISK_FULL_MS));
      await rm(filler, { force: true });
      node.unwatch(noticed);
      record.note = noticed.seen ? "node logged the full disk" : "node did not log the full disk";
      break;
    }
  }
  record.durationS = (Date.now() - started) / 1000;
  return record;
}

/** Whether round `id` is still waiting for its aggregate (read from the chain directly, not the cut proxy). */
async function stillAggregating(network: SoakNetwork, id: bigint): Promise<boolean> {
  const client = createPublicClient({ transport: http(network.chain.rpcUrl) });
  const round = await client.readContract({
    address: network.deployment.contracts.TrainingRounds.address as Address,
    abi: trainingRoundsAbi,
    functionName: "getRound",
    args: [id],
  });
  return round.state === RoundState.Aggregating;
}
