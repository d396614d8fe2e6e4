/**
 * `npm run bench:mesh`: the stake-gated libp2p mesh (node/p2p) at N = 10, 100, 500 and 1,000 admitted nodes on
 * one machine, against a real Hardhat chain (every node is a staked operator bound to its peer ID; admission
 * reads the StakeRegistry). Per N: time to form the mesh, memory per node, connections per node, admission
 * latency (connection open → admitted, chain check included), idle CPU, bytes per node per minute and event-loop
 * stalls over 30 s, and gossip latency p50/p99 to all nodes over 30 messages from random publishers.
 *
 * Baseline in the same run: the stock configuration (local-simulation as shipped: DHT, default gossipsub degree
 * and heartbeat, plus ping and libp2p's connection monitor as libp2p enables them by default) over TCP at
 * N = 10 and 100. The tuned runs use the `local-scale` profile. Nodes run in worker processes (one, or two
 * for 1,000 nodes: `@libp2p/memory` inside a process, TCP between), so CPU and RSS are the nodes' own.
 *
 * Options: `--quick` (N = 10 and 100 only), `--sizes=500,1000` (tuned sizes), `--no-baseline`, `--merge` (keep
 * the last results' rows for the scenarios not run now; every row carries `measuredAt`), `--semi-space=<MiB>`,
 * `--gossip=D,Dlo,Dhi` / `--heartbeat=<ms>` / `--dlazy=<n>` (another degree, heartbeat or IHAVE fan-out on top of local-scale, its own row), `--processes=1|2` (processes for N = 1,000), `--messages=<n>` (measured gossip messages, default 30), `--dials=<k>` (random dials per node; default half the
 * target degree, the rest comes from inbound dials and PEX maintenance), `--attack` (the abuse benchmark,
 * scripts/bench/mesh-attack.ts: join time, ping and gossip p99, RSS and chain reads under floods).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { z } from "zod";

import { LOCAL_SCALE_PROFILE, LOCAL_SIMULATION_PROFILE } from "../../node/p2p/profiles.ts";
import type { MeshProfile } from "../../node/p2p/profiles.ts";
import { minStake, startLocalNetwork } from "../support/local-network.ts";
import type { LocalNetwork } from "../support/local-network.ts";
import { flag, isQuick, option, printTable, runBenchmark, writeResults } from "./common.ts";
import { runAttackBench } from "./mesh-attack.ts";
import type { Row } from "./common.ts";
import { stakeOperators } from "./mesh-operators.ts";
import type { BenchOperator } from "./mesh-operators.ts";
import type { IdleSample } from "./mesh-worker.ts";
import { Worker, dialPlan, merge, percentile, processCpuSeconds, shuffle, sleep } from "./mesh-workers.ts";

const CHAIN_PORT = 18640;
const IDLE_SECONDS = 30;
/**
 * Measured gossip messages per scenario (`--messages=<n>`), from as many random publishers, one at a time. With
 * 10 the p99 at N = 1,000 came from the slowest one or two messages and moved between 0.6 and 2.6 s from run to
 * run; 30 give the tail three times as many messages to come from.
 */
const DEFAULT_MESSAGES = 30;
const FORMATION_TIMEOUT_MS = 600_000;
/** V8 young-generation semi-space of each worker, MiB (`--semi-space=<MiB>`; V8's default is 16). */
const DEFAULT_SEMI_SPACE_MB = 64;
const SEMI_SPACE_MB = Number(option("semi-space") ?? DEFAULT_SEMI_SPACE_MB);
/** `--profile-idle=<dir>`: write V8 CPU profiles of each worker's idle window and measured gossip there. */
const profileDir = option("profile-idle");

interface Scenario {
  readonly label: string;
  readonly n: number;
  readonly processes: number;
  readonly transport: "memory" | "tcp";
  readonly profile: MeshProfile;
  readonly dialsPerNode: number;
  readonly eventPollingIntervalMs: number;
}

/** The shipped local-simulation profile with libp2p's default ping and connection monitor: the "before". */
const STOCK_PROFILE: MeshProfile = {
  ...LOCAL_SIMULATION_PROFILE,
  services: { ...LOCAL_SIMULATION_PROFILE.services, ping: true, connectionMonitor: true },
};

function services(profile: MeshProfile): string {
  const on = ["identify", "gossipsub", "admission", "pex", "blobs"];
  if (profile.services.dht) on.push("kad-dht");
  if (profile.services.ping) on.push("ping");
  if (profile.services.connectionMonitor) on.push("conn-monitor");
  const g = profile.gossip;
  return `${on.join("+")}; D ${g.D}/${g.Dlo}/${g.Dhi}, Dlazy ${g.Dlazy}, hb ${g.heartbeatIntervalMs / 1000}s`;
}

const MESSAGES = Number(option("messages") ?? DEFAULT_MESSAGES);
if (!Number.isInteger(MESSAGES) || MESSAGES < 1) {
  process.stderr.write(`bench:mesh: --messages takes a positive integer, got "${option("messages")}"\n`);
  process.exit(1);
}

/** The table of the last `bench/results/mesh.json`, for `--merge`; empty when there is none. */
function previousRows(): Row[] {
  const path = fileURLToPath(new URL("../../bench/results/mesh.json", import.meta.url));
  try {
    const parsed = z
      .object({ table: z.array(z.record(z.string(), z.union([z.string(), z.number()]))) })
      .parse(JSON.parse(readFileSync(path, "utf8")));
    return parsed.table;
  } catch {
    return [];
  }
}

function log(message: string): void {
  process.stdout.write(`  ${message}\n`);
}

async function runScenario(
  net: LocalNetwork,
  operators: readonly BenchOperator[],
  scenario: Scenario,
): Promise<Row> {
  const { n, processes } = scenario;
  process.stdout.write(`\n== ${scenario.label}: N=${n}, ${processes} process(es), ${scenario.transport}\n`);
  const workers = Array.from({ length: processes }, () => new Worker(SEMI_SPACE_MB));
  try {
    const readies = await Promise.all(workers.map((w) => w.ready));
    const baseRss = readies.reduce((sum, r) => sum + (r.type === "ready" ? r.rssBytes : 0), 0);
    const runId = `${scenario.label.replace(/\W+/g, "-")}-${Date.now()}`;
    const perProcess = Math.ceil(n / processes);
    const startedAt = performance.now();
    const shares = await Promise.all(
      workers.map(async (worker, p) => {
        const nodes = operators
          .slice(p * perProcess, Math.min(n, (p + 1) * perProcess))
          .map((op, k) => ({ index: p * perProcess + k, seed: op.seed, operator: op.operator }));
        const reply = await worker.call(
          {
            type: "start",
            runId,
            rpcUrl: net.rpcUrl,
            chainId: net.chainId,
            registry: net.addresses.registry,
            profile: scenario.profile,
            transport: scenario.transport,
            tcpToo: processes > 1,
            eventPollingIntervalMs: scenario.eventPollingIntervalMs,
            nodes,
          },
          "started",
        );
        return reply.nodes;
      }),
    );
    log(`started ${n} nodes in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);

    // Formation: dial the random graph, poll until every node has at least half the target degree admitted.
    const needed = Math.ceil(scenario.profile.targetDegree / 2);
    const plan = dialPlan(shares, scenario.dialsPerNode);
    const formStart = performance.now();
    let dialsDone = -1;
    const dialing = Promise.all(
      workers.map((w, p) => w.call({ type: "dial", dials: plan[p] ?? [] }, "dialed")),
    ).then((replies) => {
      dialsDone = performance.now();
      return replies;
    });
    let formedMs = -1;
    let lastLog = 0;
    while (performance.now() - formStart < FORMATION_TIMEOUT_MS) {
      const status = merge(await Promise.all(workers.map((w) => w.call({ type: "status" }, "status"))));
      const minAdmitted = Math.min(...status.admitted);
      if (formedMs < 0 && minAdmitted >= needed) formedMs = performance.now() - formStart;
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        const ready = status.admitted.filter((a) => a >= needed).length;
        const refused = Object.entries(status.refusals).map(([c, k]) => `${c}:${k}`);
        log(
          `formation: ${ready}/${n} nodes with >= ${needed} admitted peers, ${status.connections.reduce((a, b) => a + b, 0)} connections, refusals [${refused.join(" ")}], ${status.unadmittedConnections} unadmitted, ${Math.round((performance.now() - formStart) / 1000)} s`,
        );
      }
      if (dialsDone >= 0 && (formedMs >= 0 || performance.now() - dialsDone > 60_000)) break;
      await sleep(formedMs >= 0 ? 250 : 500);
    }
    const dialReplies = await Promise.race([dialing, sleep(1_000).then(() => undefined)]);
    const dialFailed = dialReplies?.reduce((sum, r) => sum + r.failed, 0) ?? -1;
    const dialErrors = dialReplies?.flatMap((r) => r.errors) ?? [];
    log(
      `formed in ${formedMs < 0 ? "(timeout)" : `${(formedMs / 1000).toFixed(1)} s`}; dial failures ${dialFailed}${dialErrors.length > 0 ? ` (${dialErrors.slice(0, 2).join(" | ")})` : ""}`,
    );
    // A few heartbeats so gossipsub grafts its topic meshes before idle and gossip are measured.
    await sleep(Math.max(5_000, 3 * scenario.profile.gossip.heartbeatIntervalMs));
    const formed = merge(await Promise.all(workers.map((w) => w.call({ type: "status" }, "status"))));

    // Idle: 30 s with nothing to do but heartbeats, keep-alives, revalidation and chain event polling.
    const chainCpu0 = processCpuSeconds(net.hardhat.process.pid);
    const idleSamples = await Promise.all(
      workers.map((w, p) =>
        w.call(
          {
            type: "idle",
            seconds: IDLE_SECONDS,
            ...(profileDir === undefined ? {} : { profileTo: `${profileDir}/idle-${n}-p${p}.cpuprofile` }),
          },
          "idle",
        ),
      ),
    );
    const chainCpu = processCpuSeconds(net.hardhat.process.pid) - chainCpu0;
    const idle = idleSamples.reduce(
      (acc: IdleSample, s) => ({
        cpuMicros: acc.cpuMicros + s.cpuMicros,
        wallMs: Math.max(acc.wallMs, s.wallMs),
        bytesSent: acc.bytesSent + s.bytesSent,
        eventLoopUtilization: Math.max(acc.eventLoopUtilization, s.eventLoopUtilization),
        maxEventLoopDelayMs: Math.max(acc.maxEventLoopDelayMs, s.maxEventLoopDelayMs),
        rssBytes: acc.rssBytes + s.rssBytes,
      }),
      { cpuMicros: 0, wallMs: 0, bytesSent: 0, eventLoopUtilization: 0, maxEventLoopDelayMs: 0, rssBytes: 0 },
    );
    const idleCpuPercent = (idle.cpuMicros / 1000 / idle.wallMs) * 100;
    const bytesPerNodePerMin = idle.bytesSent / n / (idle.wallMs / 60_000);
    log(
      `idle: ${idleCpuPercent.toFixed(1)}% CPU (of one core), ${(bytesPerNodePerMin / 1024).toFixed(1)} KiB/node/min, max stall ${idle.maxEventLoopDelayMs.toFixed(0)} ms, chain ${((chainCpu / (idle.wallMs / 1000)) * 100).toFixed(1)}%`,
    );

    // Gossip: warm-up messages from each chosen publisher (distant authors are checked on chain once and
    // cached), then the measured messages, one at a time, each until all N-1 nodes have it or 10 s passed.
    const owner = (index: number): Worker => workers[Math.floor(index / perProcess)] as Worker;
    const publishers = shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, MESSAGES);
    const gossipOnce = async (id: number, publisher: number, timeoutMs: number): Promise<void> => {
      await owner(publisher).call({ type: "publish", index: publisher, id }, "published");
      const deadline = performance.now() + timeoutMs;
      while (performance.now() < deadline) {
        const counts = await Promise.all(
          workers.map((w) => w.call({ type: "delivered", ids: [id] }, "delivered")),
        );
        if (counts.reduce((sum, c) => sum + (c.counts[0] ?? 0), 0) >= n - 1) return;
        await sleep(50);
      }
    };
    const coldIds = publishers.map((_, k) => 1_000 + k);
    for (const [k, publisher] of publishers.entries())
      await gossipOnce(coldIds[k] as number, publisher, 10_000);
    await sleep(1_000);
    const ids = publishers.map((_, k) => k);
    if (profileDir !== undefined)
      await Promise.all(workers.map((w) => w.call({ type: "profile", action: "start" }, "profiled")));
    for (const [k, publisher] of publishers.entries()) {
      await gossipOnce(ids[k] as number, publisher, 10_000);
      await sleep(250);
    }
    if (profileDir !== undefined)
      await Promise.all(
        workers.map((w, p) =>
          w.call(
            { type: "profile", action: "stop", to: `${profileDir}/gossip-${n}-p${p}.cpuprofile` },
            "profiled",
          ),
        ),
      );
    await sleep(500);
    const latencyReplies = await Promise.all(
      workers.map((w) => w.call({ type: "latencies", ids: [...ids, ...coldIds] }, "latencies")),
    );
    const perMessage = [...ids, ...coldIds].map((_, m) =>
      latencyReplies.flatMap((r) => r.latencies[m] ?? []),
    );
    const measured = perMessage.slice(0, ids.length);
    const cold = perMessage.slice(ids.length);
    const all = measured.flat();
    const delivery = all.length / (ids.length * (n - 1));
    const toAll = measured.map((m) => (m.length >= n - 1 ? Math.max(...m) : Number.NaN));
    const complete = toAll.filter((t) => Number.isFinite(t));
    // The slow tail: how its first copies arrived (mesh peer, author's flood publish, or IHAVE/IWANT at a
    // heartbeat), the receivers' mesh sizes, and which process they ran in.
    const arrivalReplies = await Promise.all(
      workers.map((w) => w.call({ type: "arrivals", ids }, "arrivals")),
    );
    const arrivals = arrivalReplies.flatMap((r, p) => r.arrivals.flat().map((a) => ({ ...a, p })));
    const p99 = percentile(all, 99);
    const tail = arrivals.filter((a) => a.ms >= p99);
    const share = (list: readonly { via: string }[], via: string): number =>
      list.length === 0 ? -1 : (list.filter((a) => a.via === via).length / list.length) * 100;
    const meanMesh = (list: readonly { meshSize: number }[]): number =>
      list.length === 0 ? -1 : list.reduce((sum, a) => sum + a.meshSize, 0) / list.length;
    const perProcessP99 = workers.map((_, p) =>
      percentile(
        arrivals.filter((a) => a.p === p).map((a) => a.ms),
        99,
      ),
    );
    const tailStats = {
      tailViaMeshPct: share(tail, "mesh"),
      tailViaGossipPct: share(tail, "gossip"),
      tailViaAuthorPct: share(tail, "author"),
      allViaGossipPct: share(arrivals, "gossip"),
      tailMeshSizeMean: meanMesh(tail),
      allMeshSizeMean: meanMesh(arrivals),
      tailMeshBelowDloPct:
        tail.length === 0
          ? -1
          : (tail.filter((a) => a.meshSize < scenario.profile.gossip.Dlo).length / tail.length) * 100,
      gossipP99ByProcessMs: perProcessP99.map((v) => v.toFixed(0)).join(" / "),
    };
    log(
      `tail (>= p99): ${tail.length} arrivals, via mesh ${tailStats.tailViaMeshPct.toFixed(0)}% / IHAVE-IWANT ${tailStats.tailViaGossipPct.toFixed(0)}% / author ${tailStats.tailViaAuthorPct.toFixed(0)}% (all: IHAVE-IWANT ${tailStats.allViaGossipPct.toFixed(1)}%); mesh size ${tailStats.tailMeshSizeMean.toFixed(2)} (all ${tailStats.allMeshSizeMean.toFixed(2)}), below Dlo ${tailStats.tailMeshBelowDloPct.toFixed(0)}%; p99 per process ${tailStats.gossipP99ByProcessMs} ms`,
    );
    const after = merge(await Promise.all(workers.map((w) => w.call({ type: "status" }, "status"))));
    log(
      `gossip: p50 ${percentile(all, 50).toFixed(0)} ms, p99 ${percentile(all, 99).toFixed(0)} ms, delivery ${(delivery * 100).toFixed(1)}%; cold p99 ${percentile(cold.flat(), 99).toFixed(0)} ms`,
    );

    const connections = formed.connections;
    const rss = Math.max(after.rssBytes, idle.rssBytes);
    return {
      config: scenario.label,
      N: n,
      measuredAt: new Date().toISOString(),
      semiSpaceMB: SEMI_SPACE_MB,
      transport: scenario.transport === "tcp" ? "TCP" : processes > 1 ? "memory + TCP between" : "memory",
      processes,
      services: services(scenario.profile),
      formSec: formedMs < 0 ? -1 : formedMs / 1000,
      rssPerNodeMB: rss / n / 2 ** 20,
      rssAddedPerNodeMB: (rss - baseRss) / n / 2 ** 20,
      connMean: connections.reduce((a, b) => a + b, 0) / n,
      connMin: Math.min(...connections),
      connMax: Math.max(...connections),
      admittedMin: Math.min(...formed.admitted),
      admissionP50Ms: percentile(formed.admissionMs, 50),
      admissionP99Ms: percentile(formed.admissionMs, 99),
      chainLookupsPerNode: after.lookups / n,
      refusals: Object.entries(after.refusals)
        .map(([code, count]) => `${code}:${count}`)
        .join(" "),
      dialFailures: dialFailed,
      idleCpuPct: idleCpuPercent,
      chainIdleCpuPct: (chainCpu / (idle.wallMs / 1000)) * 100,
      idleKiBPerNodeMin: bytesPerNodePerMin / 1024,
      maxStallMs: idle.maxEventLoopDelayMs,
      gossipP50Ms: percentile(all, 50),
      gossipP99Ms: percentile(all, 99),
      gossipToAllMeanMs: complete.length > 0 ? complete.reduce((a, b) => a + b, 0) / complete.length : -1,
      gossipToAllMaxMs: complete.length > 0 ? Math.max(...complete) : -1,
      coldGossipP99Ms: percentile(cold.flat(), 99),
      deliveryPct: delivery * 100,
      ...tailStats,
      gossipRejected: after.gossipRejected,
      unadmittedConns: formed.unadmittedConnections,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

runBenchmark(async () => {
  // `--attack`: the abuse benchmark (mesh-attack.ts), its own results file.
  if (flag("attack")) {
    await runAttackBench();
    return;
  }
  const quick = isQuick();
  const sizes = (option("sizes") ?? (quick ? "10,100" : "10,100,500,1000")).split(",").map(Number);
  const processesAt1000 = Number(option("processes") ?? 2);
  const dials = Number(option("dials") ?? Math.ceil(LOCAL_SCALE_PROFILE.targetDegree / 2));
  const baseline = !flag("no-baseline");
  const scenarios: Scenario[] = [];
  if (baseline) {
    for (const n of [10, 100]) {
      scenarios.push({
        label: "stock (baseline)",
        n,
        processes: 1,
        transport: "tcp",
        profile: STOCK_PROFILE,
        dialsPerNode: dials,
        eventPollingIntervalMs: 1_000,
      });
    }
  }
  // `--gossip=D,Dlo,Dhi` and `--heartbeat=<ms>`: try another gossipsub degree or heartbeat on top of
  // local-scale (a separate, labelled row).
  const degree = option("gossip")?.split(",").map(Number);
  const [D, Dlo, Dhi] = degree ?? [];
  const heartbeat = option("heartbeat");
  const dlazy = option("dlazy");
  const base = LOCAL_SCALE_PROFILE.gossip;
  const gossip = {
    ...base,
    ...(D === undefined || Dlo === undefined || Dhi === undefined ? {} : { D, Dlo, Dhi }),
    ...(heartbeat === undefined ? {} : { heartbeatIntervalMs: Number(heartbeat) }),
    ...(dlazy === undefined ? {} : { Dlazy: Number(dlazy) }),
  };
  const changes = [
    ...(gossip.D !== base.D || gossip.Dlo !== base.Dlo || gossip.Dhi !== base.Dhi
      ? [`D ${gossip.D}/${gossip.Dlo}/${gossip.Dhi}`]
      : []),
    ...(gossip.heartbeatIntervalMs !== base.heartbeatIntervalMs
      ? [`heartbeat ${gossip.heartbeatIntervalMs / 1000} s`]
      : []),
    ...(gossip.Dlazy !== base.Dlazy ? [`Dlazy ${gossip.Dlazy}`] : []),
  ];
  const tunedProfile: MeshProfile =
    changes.length === 0 ? LOCAL_SCALE_PROFILE : { ...LOCAL_SCALE_PROFILE, gossip };
  // A young generation other than the bench's default is a different configuration too: its own row.
  const labelled = [
    ...changes,
    ...(SEMI_SPACE_MB === DEFAULT_SEMI_SPACE_MB ? [] : [`young gen. ${SEMI_SPACE_MB} MiB`]),
  ];
  const tunedLabel = ["tuned (local-scale", ...labelled].join(", ") + ")";
  for (const n of sizes) {
    scenarios.push({
      label: tunedLabel,
      n,
      processes: n >= 1000 ? processesAt1000 : 1,
      transport: n <= 100 ? "tcp" : "memory",
      profile: tunedProfile,
      dialsPerNode: dials,
      eventPollingIntervalMs: n <= 100 ? 1_000 : 10_000,
    });
  }
  const maxN = Math.max(...scenarios.map((s) => s.n));
  process.stdout.write(`bench:mesh: starting hardhat node on ${CHAIN_PORT}, staking ${maxN} operators\n`);
  const net = await startLocalNetwork(CHAIN_PORT);
  const rows: Row[] = [];
  try {
    const stake = await minStake(net);
    const t0 = performance.now();
    const operators = await stakeOperators(net, maxN, stake, (done, phase) =>
      log(`${phase}: ${done}/${maxN}`),
    );
    const chainSetupSeconds = (performance.now() - t0) / 1000;
    log(`${maxN} operators staked and bound in ${chainSetupSeconds.toFixed(1)} s`);
    for (const scenario of scenarios) {
      try {
        rows.push(await runScenario(net, operators, scenario));
      } catch (error) {
        process.stderr.write(`scenario ${scenario.label} N=${scenario.n} failed: ${String(error)}\n`);
        rows.push({ config: scenario.label, N: scenario.n, error: String(error).slice(0, 200) });
      }
      process.stdout.write("\n");
      printTable(rows);
    }
    if (flag("merge")) {
      // Re-measure some sizes and keep the other rows of the last run (each row says when it was measured).
      const rerun = new Set(rows.map((r) => `${String(r["config"])}|${String(r["N"])}`));
      const kept = previousRows().filter((r) => !rerun.has(`${String(r["config"])}|${String(r["N"])}`));
      rows.unshift(...kept);
      rows.sort(
        (a, b) => String(a["config"]).localeCompare(String(b["config"])) || Number(a["N"]) - Number(b["N"]),
      );
      process.stdout.write("\nmerged with the previous results:\n");
      printTable(rows);
    }
    const num = (row: Row | undefined, key: string): number => {
      const value = row?.[key];
      return typeof value === "number" ? value : -1;
    };
    const tuned = rows.filter((r) => String(r["config"]).startsWith("tuned") && num(r, "deliveryPct") >= 100);
    // The largest N with full delivery; among rows of that N, the lowest p99.
    const best = tuned.sort(
      (a, b) => num(b, "N") - num(a, "N") || num(a, "gossipP99Ms") - num(b, "gossipP99Ms"),
    )[0];
    const stock100 = rows.find((r) => String(r["config"]).startsWith("stock") && r["N"] === 100);
    const tuned100 = rows.find((r) => String(r["config"]).startsWith("tuned") && r["N"] === 100);
    const figures: Record<string, number> = {
      maxNodes: num(best, "N"),
      gossipP50Ms: num(best, "gossipP50Ms"),
      gossipP99Ms: num(best, "gossipP99Ms"),
      processes: num(best, "processes"),
      connectionsPerNode: num(best, "connMean"),
      idleCpuPercent: num(best, "idleCpuPct"),
      memPerNodeMB: num(best, "rssPerNodeMB"),
      meshFormSeconds: num(best, "formSec"),
      admissionMs: num(best, "admissionP50Ms"),
      admissionP99Ms: num(best, "admissionP99Ms"),
      bytesPerNodePerMinute: best === undefined ? -1 : num(best, "idleKiBPerNodeMin") * 1024,
      goalP99Under2sAt1000: rows.some(
        (r) => r["N"] === 1000 && num(r, "deliveryPct") >= 100 && num(r, "gossipP99Ms") < 2_000,
      )
        ? 1
        : 0,
      baselineIdleCpuPercent100: num(stock100, "idleCpuPct"),
      tunedIdleCpuPercent100: num(tuned100, "idleCpuPct"),
      idleCpuRatio100:
        num(stock100, "idleCpuPct") > 0 && num(tuned100, "idleCpuPct") > 0
          ? num(stock100, "idleCpuPct") / num(tuned100, "idleCpuPct")
          : -1,
      baselineGossipP99Ms100: num(stock100, "gossipP99Ms"),
      tunedGossipP99Ms100: num(tuned100, "gossipP99Ms"),
      chainSetupSeconds,
    };
    await writeResults("mesh", figures, rows);
  } finally {
    await net.stop();
  }
});
