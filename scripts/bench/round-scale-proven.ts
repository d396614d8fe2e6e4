/**
 * bench:round's proven round-scale rows (issue #21): one root round over N trainers, proven at every level, in
 * one process (`npm run bench:round -- --scale-proven 64,256`). Every node is a trainer in exactly one leaf group
 * task of at most 16 (a proven round's cap: more than PROOF_TRAINERS = 8 are proven by chained K = 4 links); two
 * levels up to 256 trainers (groups → root), three above (leaves → middles → root: 512 = 2 middles × 16 leaves ×
 * 16). The measured round: the driver opens the root round; inside its commit window it opens and drives every
 * group round of the level below at once (lockstep.ts: the chain's clock is shared), each an ordinary proven
 * round (trainers commit, a drawn member aggregates, the sampled chunk is challenged and answered with a
 * Groth16 proof, the round finalizes) whose aggregator commits the group's aggregate into the round above
 * (`commitPartial`); the root round aggregates the partials, is challenged, answered with a proof, finalizes.
 *
 * The model is the chained-round test's small MLP (784-16-10, 12,730 parameters, 199 chunks) rather than the
 * flat --scale rows' default (101,770): commitments were most of a node's CPU a round (docs/scaling.md, session
 * 15) and the work is per node, so the small model is what lets hundreds of nodes share two cores. The rule is
 * the plain weighted mean (group-rounds.test.ts): a parent round over a few partials is no sample to screen.
 *
 * Reported per N, as the --scale rows: round time (root open → root finalized), setup, CPU s, the busiest node's
 * bytes up and in and bytes per node (every task a node runs, summed), gas per trainer (commit, claim; the
 * partials' commits and every call of the round divided by N), the share of trainers accepted (weight > 0 in
 * their group's round), peak RSS; plus the levels, rounds per level and how many finalized proven, the proofs
 * made (challenge answers on chain) and the root's final state.
 */
import pino from "pino";

import { longestRoundS, PARTIAL_COMMIT_MARGIN_S } from "../../node/chain/actions/create-group-tasks.ts";
import { MAX_ROUND_DURATION_S } from "../../node/chain/constants.ts";
import { DRIVEN_WINDOW_S } from "../../node/demo/network.ts";
import type { DrivenNetwork, DrivenParticipant } from "../../node/demo/driven.ts";
import { Lockstep, OpenTurns, runRoundsInLockstep } from "../../node/demo/lockstep.ts";
import { runRound } from "../../node/demo/rounds.ts";
import type { RoundHooks, RoundReport } from "../../node/demo/rounds.ts";
import { freePort } from "../../node/demo/demo.ts";
import { BenchArgumentError } from "./common.ts";
import type { Row } from "./common.ts";
import { gasByCall } from "./round-scale.ts";
import { hostedWorld, oneProcessWorld } from "./round-scale-worlds.ts";
import type { ProvenNetworkOptions } from "./round-scale-worlds.ts";

/** Trainers per leaf group: a proven round's cap (MAX_WEIGHTS_ARRAY; chained links above 8). */
const GROUP_SIZE = 16;
/** Groups under one parent task (create-group-tasks.ts MAX_GROUPS); three levels at most (MAX_TASK_LEVELS). */
const FAN_OUT = 16;
/**
 * Commit and challenge window per node, chain seconds, at least DRIVEN_WINDOW_S: every node trains and commits
 * inside its leaf round's commit window, in real time (the local chain mines a block a second), all leaves at
 * once; the driver moves the clock once all have committed, so a long window costs nothing. 4 s a node held the
 * flat rows' 256 nodes (7 minutes of commits, default model) with room to spare.
 */
const WINDOW_S_PER_NODE = 4;
/**
 * Aggregate window, chain seconds, at least: the groups' aggregators select, receive, aggregate and post at once,
 * in real time. 600 s held 512 in one process (session 20) and 256 in 4 hosts (session 21).
 */
const MIN_AGGREGATE_WINDOW_S = 600n;
/**
 * Delivery time per node a process hosts, seconds: an aggregator checks each update against its commitment, about
 * the work of the trainer's commit, and commits ran at 2.9 s a hosted node at 1,000 in 4 hosts (900 in 11.0 min,
 * hosts of 250; session 22 run 2); rounded up for the failed pushes (the ack's 16 s stream timeout) that retry.
 */
const DELIVERY_S_PER_HOSTED_NODE = 3.5;
/**
 * The aggregate window for `perProcess` nodes in each process: twice the deliveries' time, because the post margin
 * (the measured path from decision to mined post, post-margin.ts) is capped at half the window. At 1,000 in 4 hosts
 * a 600 s window left ~5 minutes of deliveries (1-5 updates per leaf aggregator) and a margin at its ~300 s cap
 * against a measured path of up to ~600 s (compute 159 s, transactions 63 s, doubled): 8 of 22 missed their post.
 * 250 a host: 1,800 s. Rounded up to whole minutes.
 */
export function aggregateWindowFor(perProcess: number): bigint {
  const s = BigInt(Math.ceil((2 * perProcess * DELIVERY_S_PER_HOSTED_NODE) / 60) * 60);
  return s > MIN_AGGREGATE_WINDOW_S ? s : MIN_AGGREGATE_WINDOW_S;
}
/**
 * Answer window of three levels, chain seconds: the root's commit window holds a middle round that holds a leaf
 * round, each with 16 answer windows (longestRoundS), and the whole root round must stay within 12 hours; 400 s
 * leaves the leaf commit window up to ~3,700 s. Two levels keep DRIVEN_WINDOW_S.
 */
const THREE_LEVEL_ANSWER_WINDOW_S = 400n;
/** The small model (chained-round.test.ts): 12,730 parameters. */
const MODEL = { kind: "mlp", inputSize: 784, hidden: [16], classes: 10 } as const;
/** How long an aggregator that is not proving gets to start answering (as the flat rows). */
const ANSWER_WAIT_MS = 180_000;

/** Node indices 0..n-1 split into `parts` runs of near-equal length. */
function split<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = [];
  for (let p = 0; p < parts; p++)
    out.push(
      items.slice(Math.floor((p * items.length) / parts), Math.floor(((p + 1) * items.length) / parts)),
    );
  return out;
}

/**
 * The hierarchy of `n` trainers: leaf groups of at most GROUP_SIZE, under a root (two levels) or under middle tasks
 * (three, needed above GROUP_SIZE × FAN_OUT = 256; `levels: 3` forces them at any size of 4 leaves or more, two
 * middles of half the leaves each, to run the third level's path at a size that fits a bench slot).
 */
export function hierarchyOf(n: number, levels?: 2 | 3): { leaves: number[][]; middles?: number[][][] } {
  const leafCount = Math.max(levels === 3 ? 4 : 2, Math.ceil(n / GROUP_SIZE));
  if (n < leafCount * 2 || leafCount > FAN_OUT ** 2 || (levels === 2 && leafCount > FAN_OUT))
    throw new BenchArgumentError(`--scale-proven cannot put ${n} nodes in ${levels ?? "2 or 3"} levels`);
  const leaves = split(
    Array.from({ length: n }, (_, i) => i),
    leafCount,
  );
  if (leafCount <= FAN_OUT && levels !== 3) return { leaves };
  return { leaves, middles: split(leaves, Math.max(2, Math.ceil(leafCount / FAN_OUT))) };
}

/** How long the root round of `levels` levels can run with these leaf windows (longestRoundS, nested), seconds. */
export function rootRoundS(
  windowS: bigint,
  answerWindowS: bigint,
  levels: number,
  aggregateWindowS: bigint = MIN_AGGREGATE_WINDOW_S,
): bigint {
  const schedule = {
    commitWindowS: windowS,
    aggregateWindowS,
    challengeWindowS: windowS,
    answerWindowS,
    disputeWindowS: DRIVEN_WINDOW_S,
  };
  let round = longestRoundS(schedule);
  for (let level = 1; level < levels; level++)
    round = longestRoundS({ ...schedule, commitWindowS: round + PARTIAL_COMMIT_MARGIN_S });
  return round;
}

/** The windows: the leaf commit window as long as the root round's bound allows (chain seconds). */
export function scheduleFor(
  n: number,
  levels: number,
  aggregateWindowS: bigint = MIN_AGGREGATE_WINDOW_S,
): { windowS: bigint; answerWindowS: bigint } {
  const answerWindowS = levels === 2 ? DRIVEN_WINDOW_S : THREE_LEVEL_ANSWER_WINDOW_S;
  let windowS = BigInt(Math.max(Number(DRIVEN_WINDOW_S), n * WINDOW_S_PER_NODE));
  while (windowS > 60n && rootRoundS(windowS, answerWindowS, levels, aggregateWindowS) > MAX_ROUND_DURATION_S)
    windowS -= 60n;
  if (rootRoundS(windowS, answerWindowS, levels, aggregateWindowS) > MAX_ROUND_DURATION_S)
    throw new BenchArgumentError(`an aggregate window of ${aggregateWindowS} s leaves no commit window`);
  return { windowS, answerWindowS };
}

/**
 * Commit window a node needs at least, seconds: 900 of 1,000 committed in 11.0 minutes at 1,000 in 4 hosts (0.73 s
 * a node over the machine; session 22 run 2), doubled.
 */
const MIN_COMMIT_S_PER_NODE = 1.5;

/**
 * The aggregate window of `n` nodes, `perProcess` a process: aggregateWindowFor, shortened in whole minutes while
 * the 12-hour root round (three levels nest 4 aggregate windows each) would leave the leaf commit window shorter
 * than the commits need (MIN_COMMIT_S_PER_NODE): 1,000 in 4 hosts, 1,800 s derived, 1,320 s kept (commit 1,540 s).
 */
export function fittedAggregateWindowS(n: number, levels: number, perProcess: number): bigint {
  const minCommitS = BigInt(Math.max(Number(DRIVEN_WINDOW_S), Math.ceil(n * MIN_COMMIT_S_PER_NODE)));
  let w = aggregateWindowFor(perProcess);
  const answerWindowS = levels === 2 ? DRIVEN_WINDOW_S : THREE_LEVEL_ANSWER_WINDOW_S;
  while (
    w > MIN_AGGREGATE_WINDOW_S &&
    rootRoundS(minCommitS, answerWindowS, levels, w) > MAX_ROUND_DURATION_S
  )
    w -= 60n;
  return w;
}

/** Every task's participants of each node (its leaf's, its middle's, the root's), by node index. */
function participantsByNode(n: number, views: readonly DrivenNetwork[]): DrivenParticipant[][] {
  const out: DrivenParticipant[][] = Array.from({ length: n }, () => []);
  for (const view of views) for (const node of view.nodes) out[node.index]!.push(node.participant);
  return out;
}

/** The reports of the rounds whose drivers finished (a driver's error is logged as it ends: `ended`). */
const settled = (results: readonly PromiseSettledResult<RoundReport>[]): RoundReport[] =>
  results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));

/** One root round over `n` trainers proven at every level; returns its row and figures. */
export async function measureRoundScaleProven(
  n: number,
  /** Force a level count (default: two up to 256 trainers, three above). */
  forceLevels?: 2 | 3,
  /** Run the nodes in this many host processes (round-hosts.ts); default: all in this one. */
  hosts?: number,
  /** Every level's aggregate window, chain seconds (default: fittedAggregateWindowS). */
  aggregateWindowOverrideS?: bigint,
): Promise<{ row: Row; figures: Record<string, number> }> {
  const layout = hierarchyOf(n, forceLevels);
  const levels = layout.middles === undefined ? 2 : 3;
  const perProcess = Math.ceil(n / (hosts ?? 1));
  const aggregateWindowS = aggregateWindowOverrideS ?? fittedAggregateWindowS(n, levels, perProcess);
  const { windowS, answerWindowS } = scheduleFor(n, levels, aggregateWindowS);
  const setupStarted = performance.now();
  const log = pino({ level: process.env["VAIN_BENCH_LOG"] ?? "silent" }, pino.destination(2));
  const options: ProvenNetworkOptions = {
    nodes: n,
    port: await freePort(),
    maxTrainersPerRound: GROUP_SIZE,
    windowS,
    aggregateWindowS,
    answerWindowS,
    disputeWindowS: DRIVEN_WINDOW_S,
    aggregateWaitMs: 60_000,
    // As the flat rows: every participant polls the one chain process; shared reads from 64 nodes on (per
    // process: a host's nodes share one view). The poll interval grows with the nodes one event loop runs.
    pollIntervalMs: perProcess <= 32 ? 800 : Math.max(2_000, perProcess * 32),
    meshEventPollingMs: n < 64 ? 500 : 10_000,
    sharedReadsMs: n < 64 ? undefined : 500,
    spec: {
      model: { ...MODEL, hidden: [...MODEL.hidden] },
      train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
      aggregation: { rule: "fedavg", proven: true },
    },
    log,
  };
  const world =
    hosts === undefined
      ? await oneProcessWorld(options, layout.leaves, layout.middles)
      : await hostedWorld(options, hosts, layout.leaves, layout.middles);
  try {
    const three = world.middles === undefined ? undefined : { middles: world.middles, leaves: world.leaves };
    const root = world.root;
    const leafViews = world.leaves.flat();
    const views = [root, ...(world.middles ?? []), ...leafViews];
    const setupMs = performance.now() - setupStarted;
    log.info(
      {
        nodes: n,
        levels,
        hosts: hosts ?? 1,
        leaves: leafViews.length,
        windowS,
        aggregateWindowS,
        setupS: setupMs / 1000,
      },
      "bench: proven setup",
    );

    const byNode = participantsByNode(n, views);
    const sum = (pick: (p: DrivenParticipant) => number) =>
      byNode.map((ps) => ps.reduce((s, p) => s + pick(p), 0));
    const sentBefore = sum((p) => p.stats.bytesSent);
    const receivedBefore = sum((p) => p.stats.bytesReceived);
    // How the proven rounds' updates reached their watchers: relayed bodies, and fetches after the push grace.
    const total = (counts: readonly number[]) => counts.reduce((a, b) => a + b, 0);
    const relayedBefore = total(sum((p) => p.stats.updatesRelayed));
    const lateBefore = total(sum((p) => p.stats.lateFetches));
    const fromBlock = (await world.chain.publicClient.getBlockNumber()) + 1n;
    world.watchConnections();
    const cpuBefore = await world.cpuMicros();
    const timeoutMs = Math.max(600_000, n * 10_000);
    const ended = (level: string, index: number, outcome: unknown) => {
      if (outcome instanceof Error) {
        log.error({ err: outcome, level, index }, "bench: a round's driver threw");
        console.error(`the ${level} round ${index}'s driver threw: ${outcome.message}`);
      } else log.info({ level, index, state: (outcome as RoundReport).state }, "bench: round ended");
    };
    let leafReports: RoundReport[] = [];
    let middleReports: RoundReport[] = [];
    const report = await runRound(root, 1, timeoutMs * 4, ANSWER_WAIT_MS, {
      afterOpen: async () => {
        const turns = new OpenTurns();
        const drive = (level: string, hooksOf: (i: number) => RoundHooks = () => ({})) => ({
          timeoutMs,
          answerWaitMs: ANSWER_WAIT_MS,
          turns,
          hooksOf: (i: number): RoundHooks => ({
            ...hooksOf(i),
            clockMove: async (roundId, phase) =>
              void log.info({ level, index: i, roundId, phase }, "bench: round at a clock move"),
          }),
          onEnd: (i: number, outcome: unknown) => ended(level, i, outcome),
        });
        if (three === undefined) {
          leafReports = settled(await runRoundsInLockstep(leafViews, 1, drive("leaf")));
          return;
        }
        // One barrier over every leaf under every middle: they share the chain's clock.
        const leafStep = new Lockstep(leafViews.length);
        const opened = three.middles.map(() => false);
        // A parent round waits for the partials of its groups' rounds that finalized (a group whose driver gave up
        // commits none): waiting for all of them held the 512-node run's middles until the bench's timeout.
        const finalized = (reports: readonly RoundReport[]) =>
          reports.filter((r) => r.state === "finalized").length;
        const leavesFinalized = three.middles.map(() => 0);
        const middles = await runRoundsInLockstep(three.middles, 1, {
          ...drive("middle", (m) => ({
            commits: () => leavesFinalized[m]!,
            afterOpen: async () => {
              opened[m] = true;
              const leaves = three.leaves[m]!;
              const reports = settled(
                await runRoundsInLockstep(leaves, 1, { ...drive("leaf"), step: leafStep }),
              );
              leavesFinalized[m] = finalized(reports);
              leafReports.push(...reports);
            },
          })),
          timeoutMs: timeoutMs * 2,
          onEnd: (m, outcome) => {
            ended("middle", m, outcome);
            // A middle whose round never opened drives none of its leaves: the others stop waiting for them.
            if (!opened[m]) for (const _ of three.leaves[m]!) leafStep.leave();
          },
        });
        middleReports = settled(middles);
      },
      commits: () =>
        (three === undefined ? leafReports : middleReports).filter((r) => r.state === "finalized").length,
    }).finally(() => world.stopWatching());
    const cpuMicros = (await world.cpuMicros()) - cpuBefore;
    const sent = sum((p) => p.stats.bytesSent).map((b, i) => b - sentBefore[i]!);
    const received = sum((p) => p.stats.bytesReceived).map((b, i) => b - receivedBefore[i]!);
    const provenFinalized = (reports: readonly RoundReport[]) =>
      reports.filter((r) => r.state === "finalized" && r.proven).length;
    // What the busiest uploader was: which levels' rounds it aggregated (a leader serves its partial above), if any.
    const busiest = sent.indexOf(Math.max(...sent));
    const busiestAddress = world.addresses[busiest]!.toLowerCase();
    const led = (reports: readonly RoundReport[]) =>
      reports.filter((r) => r.aggregator.toLowerCase() === busiestAddress).length;
    const busiestRole =
      [
        led(leafReports) > 0 ? "leaf aggregator" : "",
        led(middleReports) > 0 ? "middle aggregator" : "",
        led([report]) > 0 ? "root aggregator" : "",
      ]
        .filter((role) => role !== "")
        .join(" + ") || "member";
    const accepted = leafReports.reduce((s, r) => s + (r.state === "finalized" ? r.included : 0), 0);
    log.info(
      {
        nodes: n,
        state: report.state,
        proven: report.proven,
        accepted,
        roundS: report.durationMs / 1000,
        leavesProven: provenFinalized(leafReports),
        middlesProven: provenFinalized(middleReports),
      },
      "bench: proven root round done",
    );
    const gas = await gasByCall(world.chain, fromBlock);
    const mean = (name: string) => {
      const g = gas.get(name);
      return g === undefined ? 0 : Math.round(g.total / g.count);
    };
    const allGas = [...gas.values()].reduce((s, g) => s + g.total, 0);
    const proofs = gas.get("answerChallenge")?.count ?? 0;
    const rounds = `${leafViews.length}${three === undefined ? "" : ` / ${three.middles.length}`} / 1`;
    const row: Row = {
      nodes: n,
      levels,
      "rounds (leaf / middle / root)": rounds,
      "proven finalized": `${provenFinalized(leafReports)}${three === undefined ? "" : ` / ${provenFinalized(middleReports)}`} / ${provenFinalized([report])}`,
      "root state": `${report.state}${report.proven ? " proven" : ""}`,
      "accepted %": (100 * accepted) / n,
      "setup s": setupMs / 1000,
      "round s": report.durationMs / 1000,
      "root train+commit s": report.phaseMs.train / 1000,
      "root aggregate s": report.phaseMs.aggregate / 1000,
      "CPU s": Math.round(cpuMicros / 1e6),
      "proofs (answers)": proofs,
      "max conns/node": world.peakConnections(),
      "max bytes up/node": Math.max(...sent),
      "busiest uploader": `node ${busiest} (${busiestRole})`,
      "max bytes in/node": Math.max(...received),
      "bytes/node": Math.round((sent.reduce((a, b) => a + b, 0) + received.reduce((a, b) => a + b, 0)) / n),
      "updates relayed": total(sum((p) => p.stats.updatesRelayed)) - relayedBefore,
      "late fetches": total(sum((p) => p.stats.lateFetches)) - lateBefore,
      "commit gas": mean("commitUpdate"),
      "partial commit gas": mean("commitPartial"),
      "post gas": mean("postAggregate"),
      "answer gas": mean("answerChallenge"),
      "finalize gas": mean("finalizeRound"),
      "claim gas": mean("claim"),
      claims: gas.get("claim")?.count ?? 0,
      "all gas/trainer": Math.round(allGas / n),
      "window s": Number(windowS),
      "aggregate window s": Number(aggregateWindowS),
      "peak RSS MB": Math.round(world.peakRssMb()),
    };
    const figures: Record<string, number> = {
      [`proven_round_s_${n}`]: report.durationMs / 1000,
      [`proven_root_finalized_proven_${n}`]: report.state === "finalized" && report.proven ? 1 : 0,
      [`proven_max_up_bytes_${n}`]: Math.max(...sent),
      [`proven_bytes_per_node_${n}`]: row["bytes/node"] as number,
      [`proven_accepted_share_${n}`]: accepted / n,
      [`proven_commit_gas_${n}`]: mean("commitUpdate"),
      [`proven_claim_gas_${n}`]: mean("claim"),
      [`proven_gas_per_trainer_${n}`]: Math.round(allGas / n),
      [`proven_proofs_${n}`]: proofs,
      [`proven_cpu_s_${n}`]: row["CPU s"] as number,
      [`proven_peak_rss_mb_${n}`]: row["peak RSS MB"] as number,
    };
    return { row, figures };
  } finally {
    await world.stop();
  }
}
