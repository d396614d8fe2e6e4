/**
 * The mesh bench's plumbing (scripts/bench/mesh.ts): worker processes that each host a share of the nodes
 * (mesh-worker.ts) with their request/answer channel, the random dial plan between them, and the merge of their
 * statuses.
 */
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import type { StartedNode, WorkerCommand, WorkerReply, WorkerStatus } from "./mesh-worker.ts";

const WORKER = fileURLToPath(new URL("./mesh-worker.ts", import.meta.url));

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return -1;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU seconds used so far by a process (Linux /proc), for the chain's share of the idle load. */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** A worker process and its request/answer channel. */
export class Worker {
  private readonly child: ChildProcess;
  private seq = 0;
  private readonly waiting = new Map<number, (reply: WorkerReply) => void>();
  readonly ready: Promise<WorkerReply>;

  constructor(semiSpaceMb: number) {
    this.child = fork(WORKER, [], {
      execPath: process.execPath,
      // A larger young generation: a worker allocates hundreds of MB/s of short-lived buffers (frames, Noise,
      // Yamux) while gossip is in flight, and with V8's default 16 MiB semi-spaces scavenges took a quarter of
      // its CPU (docs/scaling.md). Nothing else about the runtime changes.
      execArgv: [...process.execArgv, `--max-semi-space-size=${semiSpaceMb}`],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    });
    this.ready = new Promise((resolve) => this.waiting.set(0, resolve));
    this.child.on("message", (message: { seq: number; reply: WorkerReply }) => {
      const resolve = this.waiting.get(message.seq);
      this.waiting.delete(message.seq);
      resolve?.(message.reply);
    });
    this.child.on("exit", (code) => {
      for (const resolve of this.waiting.values())
        resolve({ type: "error", message: `worker exited with code ${code}` });
      this.waiting.clear();
    });
  }

  async call<T extends WorkerReply["type"]>(
    command: WorkerCommand,
    expect: T,
  ): Promise<Extract<WorkerReply, { type: T }>> {
    const seq = ++this.seq;
    const reply = await new Promise<WorkerReply>((resolve) => {
      this.waiting.set(seq, resolve);
      this.child.send({ seq, command });
    });
    if (reply.type === "error") throw new Error(`worker: ${reply.message}`);
    if (reply.type !== expect) throw new Error(`worker answered ${reply.type}, expected ${expect}`);
    return reply as Extract<WorkerReply, { type: T }>;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    await Promise.race([this.call({ type: "stop" }, "stopped").catch(() => undefined), sleep(30_000)]);
    await Promise.race([exited, sleep(5_000)]);
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

export function withPeer(address: string, peerId: string): string {
  return address.includes("/p2p/") ? address : `${address}/p2p/${peerId}`;
}

/** Random dials: a ring inside each process (connected), random in-process peers, one link to another process. */
export function dialPlan(
  shares: readonly (readonly StartedNode[])[],
  dialsPerNode: number,
): { from: number; to: string }[][] {
  return shares.map((share, p) =>
    share.flatMap((node, k) => {
      const targets = new Set<StartedNode>();
      const cross = shares.length > 1 ? 1 : 0;
      if (share.length > 1) targets.add(share[(k + 1) % share.length] as StartedNode);
      const pool = shuffle(share.filter((other) => other !== node));
      for (const other of pool) {
        if (targets.size >= Math.min(dialsPerNode - cross, share.length - 1)) break;
        targets.add(other);
      }
      const dials = [...targets].map((t) => ({ from: node.index, to: withPeer(t.local, t.peerId) }));
      if (cross === 1) {
        const others = shares.filter((_, q) => q !== p).flat();
        const remote = others[Math.floor(Math.random() * others.length)];
        if (remote?.remote !== undefined)
          dials.push({ from: node.index, to: withPeer(remote.remote, remote.peerId) });
      }
      return dials;
    }),
  );
}

export function merge(statuses: readonly WorkerStatus[]): WorkerStatus {
  const refusals: Record<string, number> = {};
  for (const s of statuses)
    for (const [k, v] of Object.entries(s.refusals)) refusals[k] = (refusals[k] ?? 0) + v;
  return {
    admitted: statuses.flatMap((s) => s.admitted),
    connections: statuses.flatMap((s) => s.connections),
    admissionMs: statuses.flatMap((s) => s.admissionMs),
    lookups: statuses.reduce((sum, s) => sum + s.lookups, 0),
    refusals,
    gossipRejected: statuses.reduce((sum, s) => sum + s.gossipRejected, 0),
    unadmittedConnections: statuses.reduce((sum, s) => sum + s.unadmittedConnections, 0),
    rssBytes: statuses.reduce((sum, s) => sum + s.rssBytes, 0),
  };
}
