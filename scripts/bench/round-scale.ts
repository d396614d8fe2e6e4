/**
 * bench:round's round-scale rows (issue #21): one round in which EVERY node trains, commits and is paid, at
 * N nodes (`npm run bench:round -- --scale 32,64`). Each node has its own key, stake, commitment and update;
 * training runs in the network's shared worker pool. Above MAX_WEIGHTS_ARRAY (16) trainers the round posts a
 * weight sum tree root and every trainer claims its share (RoundClaimsExtension): the round is unproven
 * (proofs read the weights array). Flat aggregation: the aggregator receives every update, which is the cost
 * this measures.
 *
 * Reported per N: round time (open → finalized), the aggregator's bytes uploaded and how many times it handed
 * out its aggregate (pushed or served to a fetch), the busiest node's bytes uploaded and received, bytes per
 * node (round protocol streams: pushes, and fetches served and made; gossip not counted), the gas of each contract call
 * in the round (per-trainer calls as a mean: commit, claim), the share of trainers whose update was accepted
 * (weight > 0), and the process's peak RSS. All N nodes run in this one process over TCP on 127.0.0.1.
 * Also the seconds from the last commit to the aggregator's selection (the lock and the draw: at 64 nodes they
 * once waited 58 s behind the nodes' commitments), the process's CPU seconds over the round (all its threads)
 * and the commitments the process's pool computed, per priority.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

import pino from "pino";
import { decodeFunctionData } from "viem";
import type { Hash } from "viem";

import { trainingRoundsAbi } from "../../node/chain/contracts.ts";
import { setAggregators, startLocalVainNetwork, waitFor } from "../../node/demo/network.ts";
import type { LocalVainNetwork } from "../../node/demo/network.ts";
import { runRound } from "../../node/demo/rounds.ts";
import { freePort } from "../../node/demo/demo.ts";
import type { CapCounters } from "../../node/p2p/mesh.ts";
import { commitPoolStats } from "../../node/proofs/commit-pool.ts";
import { postedWeights } from "../../node/protocol/round/weight-claims.ts";
import type { Row } from "./common.ts";

/** Each node's round poll is this many ms per node in the network (64 nodes: 2 s, as served before; 512: 16 s). */
const CHAIN_POLL_MS_PER_NODE = 32;
/** Mesh event polling at 64 nodes and more (bench:mesh polls every 10 s from 500 nodes on). */
const MESH_EVENT_POLL_AT_SCALE_MS = 10_000;
/**
 * From this many nodes on, the nodes share one chain view (node/chain/shared-reads.ts): their polls are the same
 * calls on the same block, and at 128 nodes the one chain process fell behind them (session 9). Identical reads
 * within SHARED_READS_MS (half the local chain's 1 s block interval) are asked once.
 */
const SHARED_READS_FROM_NODES = 64;
const SHARED_READS_MS = 500;
/** Chain seconds of the aggregate window besides the aggregator's wait: selection (~35 s at 64 nodes) and the post. */
const SELECTION_AND_POST_S = 90n;
/**
 * Commit (and challenge) window per node above 128 nodes, chain seconds. The driven 600 s closed on 44 of 256
 * trainers (2026-12-06, niced beside a soak: 212 commits in 600 s, 2.8 s a node, every node training through the
 * process's shared pool), and the driver, waiting for every commit, never saw the round. The driver moves the
 * chain clock once all have committed, so a longer window costs nothing.
 */
const COMMIT_WINDOW_S_PER_NODE = 6;
const DRIVEN_WINDOW_UP_TO_NODES = 128;
/** How long the claims of a measured round may take after it finalizes: each node claims on its own poll. */
const CLAIMS_WAIT_MS = 120_000;

/** One round with all `n` nodes training; returns its row and figures. */
export async function measureRoundScale(n: number): Promise<{ row: Row; figures: Record<string, number> }> {
  const setupStarted = performance.now();
  const aggregateWaitMs = Math.max(60_000, n * 2_000);
  const log = pino({ level: process.env["VAIN_BENCH_LOG"] ?? "silent" }, pino.destination(2));
  const net = await startLocalVainNetwork({
    nodes: n,
    port: await freePort(),
    maxTrainersPerRound: n,
    // Every node trains on two shared cores: the driver moves the chain clock, so long windows cost nothing.
    aggregateWaitMs,
    // Selection, every delivery and the post happen in this window's real time (the local chain mines a block a
    // second): the driven 90 s held 64 nodes' 74 s (2026-12-06) but not a round that needs more; and the
    // aggregator's wait above is cut by this deadline.
    aggregateWindowS: BigInt(Math.ceil(aggregateWaitMs / 1000)) + SELECTION_AND_POST_S,
    ...(n <= DRIVEN_WINDOW_UP_TO_NODES ? {} : { windowS: BigInt(n * COMMIT_WINDOW_S_PER_NODE) }),
    // Every node polls the one chain process (hardhat node): its total rate is held near the 64-node run's, which
    // it served; at 128 nodes with 2 s / 500 ms polls it fell a minute behind (HTTP 408, 2026-12-06).
    pollIntervalMs: n <= 32 ? 800 : Math.max(2_000, n * CHAIN_POLL_MS_PER_NODE),
    meshEventPollingMs: n < 64 ? 500 : MESH_EVENT_POLL_AT_SCALE_MS,
    sharedReadsMs: n < SHARED_READS_FROM_NODES ? undefined : SHARED_READS_MS,
    spec: {
      train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
      aggregation: { maxFanIn: Math.max(32, n), spotChecks: 4 },
    },
    log,
  });
  const setupMs = performance.now() - setupStarted;
  try {
    await setAggregators(net, [AGGREGATOR_NODE]);
    const fromBlock = (await net.publicClient.getBlockNumber()) + 1n;
    const before = net.nodes.map((node) => ({ ...node.participant.stats }));
    const caps = new CapWatch(net, log, AGGREGATOR_NODE);
    const poolBefore = commitPoolStats();
    const commitsBefore = poolBefore.done;
    const cpuBefore = process.cpuUsage();
    let lastCommitAt = 0;
    let selectedAt = 0;
    const report = await runRound(net, 1, Math.max(600_000, n * 10_000), 180_000, {
      afterCommits: () => void (lastCommitAt = performance.now()),
      onAggregating: () => void (selectedAt = performance.now()),
    }).finally(() => caps.stop());
    const pool = commitPoolStats();
    const commits = pool.done;
    // Every thread of this process (event loop, commitment and training workers; not the chain's process).
    const cpu = process.cpuUsage(cpuBefore);
    const sent = net.nodes.map((node, i) => node.participant.stats.bytesSent - before[i]!.bytesSent);
    const received = net.nodes.map(
      (node, i) => node.participant.stats.bytesReceived - before[i]!.bytesReceived,
    );
    const handedOut = net.nodes.map(
      (node, i) => node.participant.stats.aggregatesServed - before[i]!.aggregatesServed,
    );
    const aggregator = net.nodes.findIndex(
      (node) => node.account.address.toLowerCase() === report.aggregator.toLowerCase(),
    );
    const round = await net.publicClient.readContract({
      address: net.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [report.roundId],
    });
    const trainers = round.trainers.length;
    const weights = await postedWeights(net.publicClient, net.contracts.rounds, report.roundId, round);
    const accepted = weights.filter((w) => w > 0n).length;
    // The round's own figures before the claims and the gas scan, which take minutes at 128 nodes: a run cut by
    // its time cap there still has them (session 10's 128-node run ended without any).
    log.info(
      {
        nodes: n,
        state: report.state,
        accepted,
        trainers,
        roundS: report.durationMs / 1000,
        trainS: report.phaseMs.train / 1000,
        aggregateS: report.phaseMs.aggregate / 1000,
        commitsToSelectionS: (selectedAt - lastCommitAt) / 1000,
        aggregatorBytesUp: aggregator < 0 ? 0 : sent[aggregator],
        maxBytesUp: Math.max(...sent),
        maxCopies: Math.max(...handedOut),
        peakConnections: caps.peakConnections,
        closedAtCap: caps.closedAtCap(),
      },
      "bench: round done",
    );
    if (report.state === "finalized" && round.weights.length === 0)
      await waitForClaims(net, report.roundId, weights);
    const gas = await gasByCall(net, fromBlock);
    const mean = (name: string) => {
      const g = gas.get(name);
      return g === undefined ? 0 : Math.round(g.total / g.count);
    };
    const row: Row = {
      nodes: n,
      trainers,
      state: report.state,
      "accepted %": trainers === 0 ? 0 : (100 * accepted) / trainers,
      "setup s": setupMs / 1000,
      "round s": report.durationMs / 1000,
      "train+commit s": report.phaseMs.train / 1000,
      "aggregate s": report.phaseMs.aggregate / 1000,
      // The driver sees the last commit on its poll (800 ms to 2 s late) and the selection on its 250 ms poll.
      "last commit → selection s": selectedAt === 0 ? 0 : (selectedAt - lastCommitAt) / 1000,
      "CPU s": Math.round((cpu.user + cpu.system) / 1e6),
      "urgent / background commitments": `${commits.urgent - commitsBefore.urgent} / ${commits.background - commitsBefore.background}`,
      // Commitments asked again: shared with a pending job, or answered from the kept ones (commit-pool.ts).
      "joined / kept commitments": `${pool.joined - poolBefore.joined} / ${pool.memoHits - poolBefore.memoHits}`,
      "aggregator bytes up": aggregator < 0 ? 0 : sent[aggregator]!,
      "aggregator's aggregate copies": aggregator < 0 ? 0 : handedOut[aggregator]!,
      "max aggregate copies/node": Math.max(...handedOut),
      "max conns/node": caps.peakConnections,
      "closed at cap": caps.closedAtCap(),
      "max bytes up/node": Math.max(...sent),
      "max bytes in/node": Math.max(...received),
      "bytes/node": Math.round(sent.reduce((a, b) => a + b, 0) / n + received.reduce((a, b) => a + b, 0) / n),
      "commit gas": mean("commitUpdate"),
      "weights root gas": mean("postWeightsRoot"),
      "post gas": mean("postAggregate"),
      "finalize gas": mean("finalizeRound"),
      "claim gas": mean("claimTrainerShare"),
      claims: gas.get("claimTrainerShare")?.count ?? 0,
      "peak RSS MB": Math.round(process.resourceUsage().maxRSS / 1024),
    };
    const figures: Record<string, number> = {
      [`scale_round_s_${n}`]: report.durationMs / 1000,
      [`scale_max_up_bytes_${n}`]: Math.max(...sent),
      [`scale_aggregator_up_bytes_${n}`]: aggregator < 0 ? 0 : sent[aggregator]!,
      [`scale_aggregator_aggregate_copies_${n}`]: aggregator < 0 ? 0 : handedOut[aggregator]!,
      [`scale_bytes_per_node_${n}`]: row["bytes/node"] as number,
      [`scale_accepted_share_${n}`]: trainers === 0 ? 0 : accepted / trainers,
      [`scale_commit_gas_${n}`]: mean("commitUpdate"),
      [`scale_claim_gas_${n}`]: mean("claimTrainerShare"),
      [`scale_peak_rss_mb_${n}`]: row["peak RSS MB"] as number,
    };
    return { row, figures };
  } finally {
    await net.stop();
  }
}

/** The node opted in as the round's aggregator (the only candidate, so the one selected). */
const AGGREGATOR_NODE = 0;
/** How often the bench samples every node's connection count (and logs the busiest at info). */
const CAP_SAMPLE_MS = 5_000;

/**
 * The nodes' connections against their cap during the round (issue #21: at 128 nodes deliveries stalled at 64,
 * the mesh's `maxConnections`): the most any node held at a sample, and what the cap did to connections opened
 * over it (mesh.ts `capCounters`), logged at info every CAP_SAMPLE_MS for the node holding the most.
 */
export class CapWatch {
  peakConnections = 0;
  private readonly net: LocalVainNetwork;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly start: number[];
  /** The process's event-loop delay between samples: every node's tick and stream handler waits behind a stall. */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });

  constructor(net: LocalVainNetwork, log: pino.Logger, aggregator: number) {
    this.net = net;
    this.start = net.nodes.map((node) => this.overCap(node.mesh.capCounters));
    this.loopDelay.enable();
    this.timer = setInterval(() => {
      const maxStallMs = Math.round(this.loopDelay.max / 1e6);
      this.loopDelay.reset();
      const counts = net.nodes.map((node) => node.mesh.libp2p.getConnections().length);
      const busiest = counts.indexOf(Math.max(...counts));
      this.peakConnections = Math.max(this.peakConnections, counts[busiest] ?? 0);
      const mesh = net.nodes[busiest]?.mesh;
      const aggregatorMesh = net.nodes[aggregator]?.mesh;
      log.info(
        {
          node: busiest,
          connections: counts[busiest],
          cap: mesh?.profile.maxConnections,
          ...mesh?.capCounters,
          maxStallMs,
          // Seconds since the process started, about where `node --cpu-prof` starts: cpuprofile-top.ts --from/--to.
          uptimeS: Math.round(process.uptime()),
          aggregatorConnections: counts[aggregator],
          aggregatorClosedAtCap: aggregatorMesh === undefined ? 0 : this.overCap(aggregatorMesh.capCounters),
        },
        "bench: busiest node's connections",
      );
    }, CAP_SAMPLE_MS);
    this.timer.unref();
  }

  /** Connections the round's nodes closed or aborted because they were over their cap. */
  closedAtCap(): number {
    return this.net.nodes.reduce(
      (sum, node, i) => sum + this.overCap(node.mesh.capCounters) - (this.start[i] ?? 0),
      0,
    );
  }

  stop(): void {
    clearInterval(this.timer);
    this.loopDelay.disable();
  }

  private overCap(c: CapCounters): number {
    return c.yieldedUnadmitted + c.evictedWorst + c.closedNewcomers;
  }
}

/** Waits until every accepted trainer's node has claimed its share (or CLAIMS_WAIT_MS passes: counted as is). */
async function waitForClaims(
  net: LocalVainNetwork,
  roundId: bigint,
  weights: readonly bigint[],
): Promise<void> {
  await waitFor("the accepted trainers' claims", CLAIMS_WAIT_MS, async () => {
    for (const [i, w] of weights.entries()) {
      if (w === 0n) continue;
      const claimed = await net.publicClient.readContract({
        address: net.contracts.rounds,
        abi: trainingRoundsAbi,
        functionName: "isShareClaimed",
        args: [roundId, BigInt(i)],
      });
      if (!claimed) return undefined;
    }
    return true;
  }).catch(() => undefined);
}

/** Gas used by each TrainingRounds function called from `fromBlock` on: total and count per function name. */
export async function gasByCall(
  net: Pick<LocalVainNetwork, "publicClient" | "contracts">,
  fromBlock: bigint,
): Promise<Map<string, { total: number; count: number }>> {
  const out = new Map<string, { total: number; count: number }>();
  const toBlock = await net.publicClient.getBlockNumber();
  const rounds = net.contracts.rounds.toLowerCase();
  for (let b = fromBlock; b <= toBlock; b++) {
    const block = await net.publicClient.getBlock({ blockNumber: b, includeTransactions: true });
    for (const tx of block.transactions) {
      if (tx.to?.toLowerCase() !== rounds) continue;
      let name: string;
      try {
        name = decodeFunctionData({ abi: trainingRoundsAbi, data: tx.input }).functionName;
      } catch {
        continue; // not a TrainingRounds call this ABI knows
      }
      const receipt = await net.publicClient.getTransactionReceipt({ hash: tx.hash as Hash });
      const entry = out.get(name) ?? { total: 0, count: 0 };
      entry.total += Number(receipt.gasUsed);
      entry.count += 1;
      out.set(name, entry);
    }
  }
  return out;
}
