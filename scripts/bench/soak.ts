/**
 * `npm run bench:soak`: chaos and soak (../shared/BENCHMARKS.md `soak` row). A real hardhat chain behind a TCP
 * proxy and N `vain-node` processes run R rounds unattended while the soak injects faults at random phases:
 * 30% of the nodes SIGKILLed and restarted, the aggregator killed in each phase, the RPC endpoint unreachable
 * for 30 s, one node's disk (a tmpfs) filled up, a node restarted with its state wiped.
 * Goals: >= 95% of rounds finalize, 0 stuck rounds, 0 node crashes, no honest node slashed, RSS flat, and no
 * node idle for IDLE_STREAK_ROUNDS rounds with no fault on it: each a PASS/FAIL line on screen and a `goal` row of
 * the JSON table (soak/figures.ts). An operator whose node is slashed below the minimum stake restakes through the
 * CLI (soak/operator.ts); every top-up is a `restake` row.
 *
 * Usage: npm run bench:soak [-- --quick] [--nodes=5] [--rounds=60] [--seed=1] [--gap=1]
 *   [--commit=15] [--aggregate=15] [--challenge=5] [--answer=30] [--keep-logs] [--spare=1]
 *   [--only=kill-aggregator:aggregating,rpc-outage:open] (these faults once each, in order, instead of the cycle)
 * `--spare=K`: the first K nodes are never a fault's target, so their RSS is one process life as long as the run
 *   (`rssGrowthMBPerHourSpared`); the disk node (the last) and at least one more stay targets. They stake 4x the
 *   others and every node opts in to aggregation (soak/network.ts), so the spared nodes aggregate about half the
 *   rounds from the start (`rssGrowthMBPerHourSparedFromFirstAggregation`, beside the whole-run figure).
 * `--quick`: 20 rounds (at least), 4 nodes, budget 10 minutes.
 */
import {
  DEFAULT_AGGREGATE_WINDOW_S,
  DEFAULT_ANSWER_WINDOW_S,
  DEFAULT_CHALLENGE_WINDOW_S,
  DEFAULT_COMMIT_WINDOW_S,
  DEFAULT_DISPUTE_WINDOW_S,
} from "../../node/chain/constants.ts";
import { writeFile } from "node:fs/promises";

import { flag, isQuick, numberOption, option, printTable, runBenchmark, writeResults } from "./common.ts";
import type { Row } from "./common.ts";
import { parseFaultPlans } from "./soak/faults.ts";
import { IDLE_STREAK_ROUNDS, activity, diskGrowth, goals, minimaPer } from "./soak/figures.ts";
import { LONG_RSS_LIFE_MS, memoryPart, rssGrowth, runSoak } from "./soak/run.ts";

/** Chain port of the soak's hardhat node (the nodes reach it through a proxy on a free port). */
const CHAIN_PORT = 18771;
/** The slice over which the spared nodes' lowest memory is reported (ms): docs/soak.md's "per 5 minutes". */
const MINIMA_SPAN_MS = 300_000;

runBenchmark(async () => {
  const quick = isQuick();
  const rounds = numberOption("rounds", quick ? 20 : 60);
  // `--quick`: the shortest windows the nodes can honestly meet. A proven round lasts about commit + selection
  // (lock, seed block, select: ~3 s) + post (~1 s) + sample draw (~3 s) + one chunk proof (3-8 s here, 9-13 s at
  // load 13) + the answered statement's dispute window + finalize: 33 s at load 13. The challenge window runs
  // from the post, so the aggregate window only bounds a miss. The answer window only bounds a missed answer, but it must
  // hold a proof with headroom plus the answer transaction, or the nodes sit out (proving-budget.ts).
  // The full run uses `task create`'s local defaults (node/chain/constants.ts): the node plans for an aggregation
  // window of at least its 15 s posting margin, and a SIGKILLed aggregator's restart (process start 2.5-17 s here
  // at load 8-12, most of it module loading) does not fit the 8 s the soak used before.
  const windows = {
    // 6 s: nodes train the next round's update before it opens (trainer.ts head start) and commit at once; the
    // window holds a commit transaction at load, and the training of a node without a head start (restarted, or
    // the previous round failed), sized to fit. At load 8-10 a 5 s window without head starts left three rounds
    // in a row with no commit (quick soak, 2026-12-05); 6 s with them finalized 13 of 13 at load 13 (2026-12-05).
    commit: numberOption("commit", quick ? 6 : Number(DEFAULT_COMMIT_WINDOW_S)),
    // The task's default (15 s), not less: the selected node learns of its selection by polling, and at load 7 it
    // noticed 3.5 s and 15 ms before a 6 s window closed and was slashed for a missed aggregation (quick soak,
    // 2026-12-05). The window bounds only a miss: an aggregator posts as soon as the updates are in.
    // `--quick`: 40 s. The selection deadline is the commit deadline + this window, and with 15 s a 30 s RPC
    // outage in the open phase left no time to select once the chain came back (quick soak 2026-12-05, round 6
    // failed with trainers committed). A normal round does not wait for it; only a missed aggregation does.
    aggregate: numberOption("aggregate", quick ? 40 : Number(DEFAULT_AGGREGATE_WINDOW_S)),
    challenge: numberOption("challenge", Number(DEFAULT_CHALLENGE_WINDOW_S)),
    // 40 s, not less: a node takes a duty only while 1.5 × its slowest recent proof + 4 s fits, and start-up
    // contention made proofs take 13-15 s at load 7 (a 20 s window left every node sitting out for minutes).
    answer: numberOption("answer", quick ? 40 : Number(DEFAULT_ANSWER_WINDOW_S)),
    dispute: numberOption("dispute", quick ? 5 : Number(DEFAULT_DISPUTE_WINDOW_S)),
  };
  const nodes = numberOption("nodes", quick ? 4 : 5);
  const spare = numberOption("spare", 0);
  if (!Number.isInteger(spare) || spare < 0 || spare > nodes - 2)
    throw new RangeError(`--spare must be an integer from 0 to ${nodes - 2} (nodes - 2), got ${spare}`);
  const result = await runSoak({
    nodes,
    spare,
    rounds,
    windows,
    chainPort: numberOption("port", CHAIN_PORT),
    seed: numberOption("seed", 1),
    gap: numberOption("gap", 1),
    budgetMs: numberOption("budget-min", quick ? 10 : rounds * 1.5 + 10) * 60_000,
    keepLogs: flag("keep-logs"),
    only: parseFaultPlans(option("only")),
    log: (line) => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`),
  });
  // Judged: every round after the cold-start round (nodes still loading, first training), faults or not.
  const closed = result.rounds.filter((r) => r.closedAt !== undefined && !result.warmup.includes(r.id));
  const judged = [...closed].sort((a, b) => (a.id < b.id ? -1 : 1));
  // Rounds a node was drawn to aggregate (or took over as backup): an aggregator proves, pulls and posts, so a
  // spared node that never aggregated leaves that path out of its RSS figure (session 18's aggregated none of its
  // first 50 rounds, and its RSS stepped up with its first aggregation).
  const aggregatedBy = (node: number) =>
    judged.filter((r) => r.draws.some((d) => d.aggregator === result.operators[node])).length;
  // When a node was first drawn to aggregate (any round, the cold start included). Its RSS from then on is the
  // aggregator's steady state: session 18's spared node stepped 675 -> 832 MB at its first aggregation (threads
  // and arenas started once) and the whole-run slope read that step as 511 MB/h. Both figures are reported.
  const firstAggregationAt = (node: number): number | undefined => {
    const times = result.rounds.flatMap((r) =>
      r.draws.filter((d) => d.aggregator === result.operators[node]).map((d) => d.at),
    );
    return times.length === 0 ? undefined : Math.min(...times);
  };
  const sparedRss = new Map([...result.rss].filter(([node]) => node < spare));
  const sparedFromFirstAggregation = new Map(
    [...sparedRss].flatMap(([node, samples]) => {
      const at = firstAggregationAt(node);
      return at === undefined ? [] : [[node, samples.filter((s) => s.at >= at)] as const];
    }),
  );
  const restakedBy = (node: number) =>
    result.restakes.filter((r) => r.node === node).reduce((sum, r) => sum + r.amountVain, 0);
  const closedAt = judged.map((r) => r.closedAt!);
  const growth = [...result.disk].flatMap(([node, samples]) => diskGrowth(node, samples, closedAt) ?? []);
  const idleNodes = result.idle.filter((i) => i.rounds >= IDLE_STREAK_ROUNDS);
  const finalized = closed.filter((r) => r.phase === "finalized");
  // Closed with nobody committed (e.g. the RPC outage spanned the whole commit window): no work was done or
  // lost and nobody was paid or slashed. Counted as failed in finalizedFraction; reported apart as well.
  const empty = closed.filter((r) => r.phase === "failed" && r.trainers === 0);
  const stuck = result.rounds.filter((r) => r.stuck);
  const { maxMB, growthMBPerHour, longestLifeMinutes } = rssGrowth(result.rss);
  const durations = finalized.map((r) => (r.closedAt! - r.seenAt) / 1000);
  // Where a finalized round's time goes (observer wall clock, 2 s polls): open (commit window, then selection),
  // aggregating (updates pushed, aggregate posted), challenging (challenge window, draw, proof, dispute window).
  const phaseMean = (
    from: "open" | "aggregating" | "challenging",
    to: "aggregating" | "challenging" | "finalized",
  ) => {
    const spans = finalized.flatMap((r) => {
      const a = r.phaseAt[from];
      const b = r.phaseAt[to];
      return a === undefined || b === undefined ? [] : [(b - a) / 1000];
    });
    return spans.length === 0 ? -1 : Number((spans.reduce((x, y) => x + y, 0) / spans.length).toFixed(1));
  };
  const table: Row[] = [
    ...result.faults.map((f) => {
      const round = result.rounds.find((r) => r.id === f.round);
      return {
        kind: "fault",
        fault: f.kind,
        phase: f.phase,
        round: Number(f.round),
        nodes: f.targets.join(","),
        seconds: Number(f.durationS.toFixed(1)),
        outcome: round?.phase ?? "?",
        note: f.note,
      };
    }),
    ...result.crashes.map((c) => ({
      kind: "crash",
      nodes: String(c.node),
      note: `exit ${c.code ?? c.signal}: ${c.tail.split("\n").filter(Boolean).slice(-2).join(" | ").slice(0, 300)}`,
    })),
    ...result.slashes.map((s) => ({
      kind: "slash",
      nodes: String(s.node),
      note: `reason ${s.reason}, ${s.amountVain} VAIN${s.faulted ? ", after a fault hit it" : ", no fault on it"}`,
    })),
    ...result.rejoins.map((r) => ({
      kind: "rejoin",
      nodes: String(r.node),
      round: Number(r.wipedInRound),
      note:
        r.trainedAgainIn === undefined
          ? "wiped; never trained again"
          : `wiped; trained again in round ${r.trainedAgainIn}`,
    })),
    ...result.uncounted.map((u) => ({
      kind: "uncounted",
      round: Number(u.round),
      nodes: String(u.node),
      note: `weight ${u.weight}${u.faulted ? ", a fault hit it or the aggregator this round" : ", no fault on it or the aggregator: an honest update rejected"}`,
    })),
    ...result.restakes.map((r) => ({
      kind: "restake",
      nodes: String(r.node),
      round: Number(r.round),
      note:
        `operator restaked ${r.amountVain} VAIN (active stake was ${r.fromVain} VAIN, below the minimum); ` +
        (r.trainedAgainIn === undefined
          ? "never trained again"
          : `trained again in round ${r.trainedAgainIn}`),
    })),
    ...result.idle.map((i) => {
      const disk = growth.find((g) => g.node === i.node);
      return {
        kind: "node",
        nodes: String(i.node),
        note:
          `committed in ${i.committed} of ${judged.length} rounds, aggregator of ${aggregatedBy(i.node)}; longest idle with no fault on it ${i.rounds} rounds` +
          `${i.from === undefined ? "" : ` (${i.from}-${i.to})`}; restaked ${restakedBy(i.node)} VAIN` +
          `; quota deletions ${result.quotaDeletions.get(i.node) ?? 0}` +
          (disk === undefined
            ? ""
            : `; data dir ${disk.firstMB.toFixed(1)} -> ${disk.lastMB.toFixed(1)} MB over ${disk.rounds} rounds without a wipe` +
              ` (${disk.kibPerRound.toFixed(0)} KiB/round, most: ${disk.topEntry || "-"} +${disk.topEntryGrowthMB.toFixed(1)} MB)`),
      };
    }),
    ...[...result.rss].map(([node, samples]) => ({
      kind: "rss",
      nodes: String(node),
      note:
        `first ${Math.round(samples[0]?.mb ?? 0)} MB, max ${Math.round(Math.max(0, ...samples.map((x) => x.mb)))} MB, last ${Math.round(samples.at(-1)?.mb ?? 0)} MB over ${samples.at(-1)?.life ?? 0} process lives; growth ${rssGrowth(new Map([[node, samples]])).growthMBPerHour.toFixed(1)} MB/h` +
        `; of it (MB/h) ${(["heap", "external", "native"] as const).map((part) => `${part} ${rssGrowth(memoryPart(new Map([[node, samples]]), part)).growthMBPerHour.toFixed(1)}`).join(", ")}`,
    })),
    ...[...sparedRss].map(([node, samples]) => {
      const start = samples[0]?.at ?? 0;
      const first = firstAggregationAt(node);
      const parts = (from: number) =>
        (["heap", "external", "native"] as const)
          .map(
            (part) =>
              `${part} ${minimaPer(memoryPart(new Map([[node, samples]]), part).get(node) ?? [], from, MINIMA_SPAN_MS).join(", ")}`,
          )
          .join("; ");
      return {
        kind: "rss-minima",
        nodes: String(node),
        note:
          `spared; lowest MB per 5 min from the start: RSS ${minimaPer(samples, start, MINIMA_SPAN_MS).join(", ")}; ${parts(start)}` +
          (first === undefined
            ? "; never aggregated"
            : ` | from its first aggregation (minute ${((first - start) / 60_000).toFixed(1)}): RSS ${minimaPer(samples, first, MINIMA_SPAN_MS).join(", ")}; ${parts(first)}`),
      };
    }),
    ...result.rounds
      .filter((r) => r.phase === "failed" || r.stuck)
      .map((r) => ({
        kind: "round",
        round: Number(r.id),
        outcome: r.stuck
          ? `stuck (${r.phase}, ${r.maxOverdueS} s overdue)`
          : `${r.phase}${r.trainers === 0 ? " (nobody committed)" : ""}`,
      })),
  ];
  const longLives = rssGrowth(result.rss, LONG_RSS_LIFE_MS);
  const spareRss = rssGrowth(new Map([...result.rss].filter(([node]) => node < spare)), LONG_RSS_LIFE_MS);
  // RSS is judged on the spared nodes when there are any (one life as long as the run), else on lives of 30
  // minutes and more; a run with neither (`--quick`) did not measure it.
  const rss = spare > 0 ? spareRss : longLives;
  const verdicts = goals({
    finalizedFraction: closed.length === 0 ? 0 : finalized.length / closed.length,
    stuckRounds: stuck.length,
    nodeCrashes: result.crashes.length,
    slashesWithoutFault: result.slashes.filter((s) => !s.faulted).length,
    rssGrowthMBPerHour: Number(rss.growthMBPerHour.toFixed(1)),
    rssMeasured: rss.longestLifeMinutes * 60_000 >= LONG_RSS_LIFE_MS,
    nodesIdleWithoutFault: idleNodes.length,
  });
  const verdict = (pass: boolean | undefined) =>
    pass === undefined ? "NOT MEASURED" : pass ? "PASS" : "FAIL";
  table.push(
    ...verdicts.map((g) => ({
      kind: "goal",
      outcome: verdict(g.pass),
      note: `${g.goal}: ${Number(g.value.toFixed(3))} (goal ${g.target})`,
    })),
  );
  printTable(table);
  const figures = {
    rounds: closed.length,
    roundsFinalized: finalized.length,
    finalizedFraction: closed.length === 0 ? -1 : finalized.length / closed.length,
    roundsNobodyCommitted: empty.length,
    finalizedFractionOfCommittedRounds:
      closed.length === empty.length ? -1 : finalized.length / (closed.length - empty.length),
    stuckRounds: stuck.length,
    nodeCrashes: result.crashes.length,
    honestSlashes: result.slashes.length,
    /** Nodes restarted with a wiped data directory that committed again (they replayed the task's model). */
    wipedNodesTrainingAgain: result.rejoins.filter((r) => r.trainedAgainIn !== undefined).length,
    wipedNodes: result.rejoins.length,
    slashesWithoutFault: result.slashes.filter((s) => !s.faulted).length,
    /**
     * Committed updates of finalized rounds not counted (weight 0 or the distrusted token weight) whose node no
     * fault hit in that round: honest work rejected, an operator unpaid. The goal is 0.
     */
    uncountedWithoutFault: result.uncounted.filter((u) => !u.faulted).length,
    uncountedUpdates: result.uncounted.length,
    committedUpdates: finalized.reduce((sum, r) => sum + r.trainers, 0),
    maxRssMB: Math.round(maxMB),
    rssGrowthMBPerHour: Number(growthMBPerHour.toFixed(1)),
    /** The same over process lives of 30 minutes and more only (0 when none lived that long). */
    rssGrowthMBPerHourLongLives: Number(rssGrowth(result.rss, LONG_RSS_LIFE_MS).growthMBPerHour.toFixed(1)),
    longestProcessLifeMinutes: Number(longestLifeMinutes.toFixed(1)),
    /** The same over the spared nodes (`--spare`), each one life as long as the run; -1 without `--spare`. */
    rssGrowthMBPerHourSpared:
      spare === 0
        ? -1
        : Number(
            rssGrowth(
              new Map([...result.rss].filter(([node]) => node < spare)),
              LONG_RSS_LIFE_MS,
            ).growthMBPerHour.toFixed(1),
          ),
    /**
     * Which part of the spared nodes' memory grew (MB/h, same slope as the RSS figure; -1 without `--spare`): the
     * main thread's V8 heap in use, its external memory, or native memory (RSS minus both: worker threads, WASM,
     * onnxruntime, malloc arenas). From the nodes' `/metrics`, sampled with the RSS.
     */
    /**
     * The spared nodes' RSS growth measured from each one's first aggregation on (same method: Theil-Sen after the
     * first third, lives of 10 minutes and more; -1 without `--spare` or when none aggregated). Beside the whole-run
     * figure above, which stays the goal's: this one tells a one-time step at the first aggregation from a slope.
     */
    rssGrowthMBPerHourSparedFromFirstAggregation:
      sparedFromFirstAggregation.size === 0
        ? -1
        : Number(rssGrowth(sparedFromFirstAggregation).growthMBPerHour.toFixed(1)),
    /** Minutes from the first RSS sample to the first spared node's first aggregation (-1: none aggregated). */
    sparedFirstAggregationMinute: (() => {
      const times = [...sparedRss].flatMap(([node, samples]) => {
        const at = firstAggregationAt(node);
        return at === undefined || samples[0] === undefined ? [] : [(at - samples[0].at) / 60_000];
      });
      return times.length === 0 ? -1 : Number(Math.min(...times).toFixed(1));
    })(),
    /** Judged rounds the spared nodes aggregated (-1 without `--spare`): their RSS covers that path only if > 0. */
    roundsAggregatedBySpared:
      spare === 0
        ? -1
        : Array.from({ length: spare }, (_, node) => aggregatedBy(node)).reduce((a, b) => a + b, 0),
    ...Object.fromEntries(
      (["heap", "external", "native"] as const).map((part) => [
        `${part}GrowthMBPerHourSpared`,
        spare === 0
          ? -1
          : Number(
              rssGrowth(
                memoryPart(new Map([...result.rss].filter(([node]) => node < spare)), part),
                LONG_RSS_LIFE_MS,
              ).growthMBPerHour.toFixed(1),
            ),
      ]),
    ),
    ...activity(judged),
    /** Nodes that sat out IDLE_STREAK_ROUNDS judged rounds in a row with no fault on them (the goal is 0). */
    nodesIdleWithoutFault: idleNodes.length,
    longestIdleRoundsWithoutFault: Math.max(0, ...result.idle.map((i) => i.rounds)),
    /** The same for the spared nodes only (-1 without `--spare`): they must never stop. */
    longestIdleRoundsSpared:
      spare === 0 ? -1 : Math.max(0, ...result.idle.filter((i) => i.node < spare).map((i) => i.rounds)),
    restakes: result.restakes.length,
    restakedVain: result.restakes.reduce((sum, r) => sum + r.amountVain, 0),
    /** Topped-up nodes that committed again afterwards (of `restakes`). */
    restakedNodesTrainingAgain: result.restakes.filter((r) => r.trainedAgainIn !== undefined).length,
    /** Largest data directory seen, and the steepest growth per round of one without a wipe (KiB). */
    dataDirMaxMB: Number(Math.max(0, ...growth.map((g) => g.maxMB)).toFixed(1)),
    dataDirKiBPerRound: Number(Math.max(-1, ...growth.map((g) => g.kibPerRound)).toFixed(1)),
    /** Deletions the nodes' disk quota guards logged (the disk node's quota is small: soak/network.ts). */
    quotaDeletions: [...result.quotaDeletions.values()].reduce((a, b) => a + b, 0),
    faults: result.faults.length,
    meanRoundSeconds: durations.length === 0 ? -1 : durations.reduce((a, b) => a + b, 0) / durations.length,
    meanOpenSeconds: phaseMean("open", "aggregating"),
    meanAggregatingSeconds: phaseMean("aggregating", "challenging"),
    meanChallengingSeconds: phaseMean("challenging", "finalized"),
    durationMinutes: result.durationMs / 60_000,
  };
  const written = await writeResults(
    "soak",
    {
      ...figures,
      goalsPassed: verdicts.filter((g) => g.pass === true).length,
      goalsFailed: verdicts.filter((g) => g.pass === false).length,
      goalsNotMeasured: verdicts.filter((g) => g.pass === undefined).length,
    },
    table,
  );
  if (spare > 0)
    process.stdout.write(
      `\nspared nodes' RSS growth from their first aggregation (minute ${figures.sparedFirstAggregationMinute}): ` +
        `${figures.rssGrowthMBPerHourSparedFromFirstAggregation} MB/h (the goal line below judges the whole run)\n`,
    );
  process.stdout.write(
    `\ngoals (issue #25):\n${verdicts.map((g) => `  ${verdict(g.pass).padEnd(12)} ${g.goal}: ${Number(g.value.toFixed(3))} (goal ${g.target})`).join("\n")}\n`,
  );
  // The raw RSS samples beside the figures, so a growth figure can be checked or recomputed later (the 60-minute
  // soak of 2026-12-06 printed a least-squares slope that its own first/last samples contradicted, and its samples
  // were gone).
  const samples = Object.fromEntries([...result.rss].map(([node, rss]) => [node, rss]));
  await writeFile(written.replace(/\.json$/, "-rss.json"), `${JSON.stringify(samples)}\n`);
  // The data directories' samples too (entry by entry): what grows, and whether the quota bounds it.
  const disk = Object.fromEntries([...result.disk].map(([node, d]) => [node, d]));
  await writeFile(written.replace(/\.json$/, "-disk.json"), `${JSON.stringify(disk)}\n`);
  if (flag("keep-logs")) process.stdout.write(`node logs: ${result.logDir}\n`);
});
const t0 = Date.now();
