/**
 * bench:scheduling — round completion time with capacity × reputation proportional assignment, deadlines from
 * measured speed and straggler/leaver rebalancing, against the naive baseline (equal shares, wait for all until
 * the round timeout), on simulated heterogeneous nodes; and fan-in / bytes per node for 10, 100 and 1,000
 * trainers, flat vs hierarchical. Also times the real attestation workload on this machine.
 *
 * Usage: npm run bench:scheduling [-- --quick]
 */
import { createChallenge, runAttestation, verifyAttestation } from "../../node/scheduling/attestation.ts";
import { planFlat, planHierarchy } from "../../node/scheduling/aggregation-plan.ts";
import { makeScenario, simulateNaive, simulateWeighted } from "./scheduling/simulate.ts";
import type { SimRoundResult } from "./scheduling/simulate.ts";
import { isQuick, printTable, runBenchmark, writeResults } from "./common.ts";
import type { Row } from "./common.ts";

/** Dense fp32 update of the MLP 784-128-10 (101,770 parameters), as a partial aggregate is. */
const UPDATE_BYTES = 101_770 * 4;
const BATCH = 32;
const EXPECTED_ROUND_MS = 30_000;
const TIMEOUT_MS = 300_000;

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);

async function main(): Promise<void> {
  const quick = isQuick();
  const trials = quick ? 10 : 100;
  const figures: Record<string, number> = {};
  const table: Row[] = [];

  process.stdout.write(`round completion, 20 simulated nodes, ${trials} seeds per scenario\n`);
  const scenarios = [
    { name: "heterogeneous", stragglerFraction: 0, leaverFraction: 0 },
    { name: "stragglers+leavers", stragglerFraction: 0.15, leaverFraction: 0.1 },
  ];
  const roundRows: Row[] = [];
  for (const sc of scenarios) {
    const results: { naive: SimRoundResult; weighted: SimRoundResult }[] = [];
    for (let seed = 1; seed <= trials; seed++) {
      const nodes = makeScenario({
        nodes: 20,
        seed,
        medianSamplesPerSec: 2000,
        speedSpread: 0.8,
        attestationNoise: 0.1,
        stragglerFraction: sc.stragglerFraction,
        stragglerFactor: 5,
        leaverFraction: sc.leaverFraction,
        expectedRoundMs: EXPECTED_ROUND_MS,
      });
      // enough work for 30 s if it were spread perfectly over the true total speed
      const totalSteps = Math.round((nodes.reduce((s, n) => s + n.samplesPerSec, 0) / BATCH) * 30);
      const o = { totalSteps, batchSize: BATCH, downloadMs: 1000, uploadMs: 1000, timeoutMs: TIMEOUT_MS };
      results.push({ naive: simulateNaive(nodes, o), weighted: simulateWeighted(nodes, o) });
    }
    for (const policy of ["naive", "weighted"] as const) {
      const rs = results.map((r) => r[policy]);
      roundRows.push({
        section: "round",
        scenario: sc.name,
        policy,
        meanRoundSeconds: mean(rs.map((r) => r.roundMs)) / 1000,
        p90RoundSeconds: rs.map((r) => r.roundMs).sort((a, b) => a - b)[Math.floor(0.9 * rs.length)]! / 1000,
        completedFraction: mean(rs.map((r) => r.completedFraction)),
        failedRounds: rs.filter((r) => r.failed).length,
        droppedNodesPerRound: mean(rs.map((r) => r.droppedNodes)),
        movedStepsPerRound: mean(rs.map((r) => r.movedSteps)),
      });
    }
  }
  printTable(roundRows);
  table.push(...roundRows);
  const find = (scenario: string, policy: string) =>
    roundRows.find((r) => r["scenario"] === scenario && r["policy"] === policy)!;
  const naive = find("stragglers+leavers", "naive");
  const weighted = find("stragglers+leavers", "weighted");
  figures["naiveRoundSeconds"] = naive["meanRoundSeconds"] as number;
  figures["weightedRoundSeconds"] = weighted["meanRoundSeconds"] as number;
  figures["speedup"] = figures["naiveRoundSeconds"] / figures["weightedRoundSeconds"];
  figures["naiveCompletedFraction"] = naive["completedFraction"] as number;
  figures["weightedCompletedFraction"] = weighted["completedFraction"] as number;
  const hn = find("heterogeneous", "naive")["meanRoundSeconds"] as number;
  const hw = find("heterogeneous", "weighted")["meanRoundSeconds"] as number;
  figures["heterogeneousSpeedup"] = hn / hw;
  figures["idealRoundSeconds"] = EXPECTED_ROUND_MS / 1000 + 2;

  process.stdout.write(`\nfan-in and bytes per node (dense update ${UPDATE_BYTES} B, max fan-in 16)\n`);
  const fanRows: Row[] = [];
  for (const n of [10, 100, 1000]) {
    const trainers = Array.from({ length: n }, (_, i) => ({ peerId: `t${i}`, rank: (i * 7919) % 1000 }));
    const start = performance.now();
    const hier = planHierarchy(trainers, { maxFanIn: 16, updateBytes: UPDATE_BYTES, seed: "bench" });
    const planMs = performance.now() - start;
    const flat = planFlat(trainers, { updateBytes: UPDATE_BYTES });
    for (const [kind, plan] of [
      ["flat", flat],
      ["hierarchical", hier],
    ] as const) {
      const aggregators = [...plan.load.values()].filter((l) => l.fanIn > 0);
      fanRows.push({
        section: "fan-in",
        trainers: n,
        plan: kind,
        depth: plan.depth,
        aggregators: aggregators.length,
        maxFanIn: plan.maxFanIn,
        maxMBIn: plan.maxBytesIn / 1e6,
        meanMBInPerAggregator: mean(aggregators.map((l) => l.bytesIn)) / 1e6,
        trainerMBOut: UPDATE_BYTES / 1e6,
        totalMB: plan.totalBytes / 1e6,
        planMs: kind === "hierarchical" ? planMs : 0,
      });
      figures[`${kind}MaxFanIn${n}`] = plan.maxFanIn;
      figures[`${kind}MaxMBIn${n}`] = plan.maxBytesIn / 1e6;
    }
  }
  printTable(fanRows);
  table.push(...fanRows);

  process.stdout.write("\nattestation workload on this machine (default challenge, 16 × 64 samples)\n");
  runAttestation(createChallenge()); // JIT warm-up, as a prover would before answering
  const attRows: Row[] = [];
  const speeds: number[] = [];
  for (let i = 0; i < (quick ? 3 : 10); i++) {
    const challenge = createChallenge();
    const start = performance.now();
    const response = runAttestation(challenge);
    const observedMs = performance.now() - start;
    const vStart = performance.now();
    const verdict = verifyAttestation(challenge, response, { observedMs });
    const verifyMs = performance.now() - vStart;
    speeds.push(verdict.measuredSamplesPerSec);
    attRows.push({
      section: "attestation",
      run: i,
      proveMs: observedMs,
      verifyMs,
      samplesPerSec: verdict.measuredSamplesPerSec,
    });
  }
  printTable(attRows);
  table.push(...attRows);
  speeds.sort((a, b) => a - b);
  figures["attestationSamplesPerSec"] = speeds[Math.floor(speeds.length / 2)]!;
  figures["attestationProveMs"] = mean(attRows.map((r) => r["proveMs"] as number));
  figures["attestationVerifyMs"] = mean(attRows.map((r) => r["verifyMs"] as number));

  await writeResults("scheduling", figures, table);
}

runBenchmark(main);
