/**
 * `npm run bench:round`: time and bytes of one full round (open → commits → aggregate → zk answer →
 * finalize) on a real local chain with N nodes in one process over TCP on 127.0.0.1, broken down by phase.
 * At most 8 nodes train (the circuit's fan-in); the others admit, validate, fetch the new model and do
 * protocol duties. Baseline in the same run: the same trainers' local training plus a plain in-memory
 * FedAvg (no chain, mesh, commitments or proofs), and the bytes dense float32 updates would take.
 *
 * A second table runs the contract's largest round (16 trainers) flat and as a tree with fan-in 4 (hierarchical
 * aggregation, §7): inputs and bytes into the busiest node, aggregation time.
 *
 * A third table (round-bytes.ts) runs R rounds of the node's default task and of bench:compression's most
 * compressed scheme on 8 nodes: update, download and total bytes per node per round against dense fp32 FedAvg,
 * and accuracy after R rounds against dense FedAvg's in the same run.
 *
 * Usage: npm run bench:round [-- --quick | --nodes 8,32]   (quick: N = 8 only; --nodes skips the fan-in table)
 *        npm run bench:round -- --fan-in   (only the fan-in table, into bench/results/round-hierarchy.json)
 *        npm run bench:round -- --compression [--rounds R] [--configs 0,1] [--seed S]   (only the compression table,
 *        R rounds (quick 3, else 10), seed S (default 1, round-bytes.ts), into bench/results/round-compression.json,
 *        written after each configuration so a run cut by its time cap keeps the finished ones)
 *        npm run bench:round -- --scale 32,64   (only the round-scale table: every node trains, commits and is
 *        paid, round-scale.ts; into bench/results/round-scale.json) [--commit-workers W] [--commit-fifo]
 *        (the process's commitment pool: W workers instead of one per core; first come, first served instead of
 *        the round's waits first: --commit-workers 1 --commit-fifo is the single worker of session 11)
 *        [--commit-memo-chunks C] (chunks of computed commitments the pool keeps for nodes asking again: the
 *        nodes of one process share them; 0 keeps none, closer to one process per node, though callers asking
 *        for one vector at once still share its job)
 *        npm run bench:round -- --scale-proven 64,256   (one root round over N trainers proven at every level: leaf
 *        groups of 16, two levels up to 256, three above; round-scale-proven.ts; into
 *        bench/results/round-scale-proven.json, written after each size) [--levels 3] (three levels at any size
 *        from 8 nodes: at least 4 leaves, two middles over half of them each) [--hosts K] (the nodes in K
 *        host processes, whole nodes each, round-hosts.ts; the chain and the drivers in this one)
 *        [--aggregate-window-s S] (every level's aggregate window; default: aggregateWindowFor the nodes a
 *        process hosts, 600 s at least)
 */
import pino from "pino";

import { fedAvg } from "../../node/core/updates.ts";
import { setAggregators, startLocalVainNetwork } from "../../node/demo/network.ts";
import { runRound } from "../../node/demo/rounds.ts";
import { freePort } from "../../node/demo/demo.ts";
import { COMMIT_MEMO_CHUNKS, commitWorkerCount, configureCommitPool } from "../../node/proofs/commit-pool.ts";
import { createModel } from "../../node/training/architectures.ts";
import {
  BenchArgumentError,
  flag,
  isQuick,
  numberListOption,
  numberOption,
  option,
  printTable,
  runBenchmark,
  writeResults,
} from "./common.ts";
import { COMPRESSION_CONFIGS, measureCompression } from "./round-bytes.ts";
import { measureRoundScale } from "./round-scale.ts";
import { measureRoundScaleProven } from "./round-scale-proven.ts";
import type { Row } from "./common.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";

runBenchmark(async () => {
  if (option("scale-proven") !== undefined) {
    const rows: Row[] = [];
    const figures: Record<string, number> = {};
    const levels = option("levels");
    if (levels !== undefined && levels !== "2" && levels !== "3")
      throw new BenchArgumentError(`--levels takes 2 or 3, not ${levels}`);
    const hosts = option("hosts") === undefined ? undefined : numberOption("hosts", 1);
    if (hosts !== undefined && (!Number.isInteger(hosts) || hosts < 1))
      throw new BenchArgumentError(`--hosts takes a whole number of processes, not ${option("hosts")}`);
    const windowOption = option("aggregate-window-s");
    const aggregateWindowS = windowOption === undefined ? undefined : numberOption("aggregate-window-s", 600);
    if (aggregateWindowS !== undefined && (!Number.isInteger(aggregateWindowS) || aggregateWindowS < 60))
      throw new BenchArgumentError(
        `--aggregate-window-s takes whole seconds, 60 or more, not ${windowOption}`,
      );
    for (const n of numberListOption("scale-proven", [])) {
      const measured = await measureRoundScaleProven(
        n,
        levels === undefined ? undefined : levels === "2" ? 2 : 3,
        hosts,
        aggregateWindowS === undefined ? undefined : BigInt(aggregateWindowS),
      );
      rows.push(measured.row);
      Object.assign(figures, measured.figures);
      printTable([measured.row]); // each size as it finishes: a larger one may not
      await writeResults("round-scale-proven", figures, rows);
    }
    printTable(rows);
    return;
  }
  if (option("scale") !== undefined) {
    const pool = configureCommitPool({
      workers: numberOption("commit-workers", commitWorkerCount()),
      prioritized: !flag("commit-fifo"),
      memoChunks: numberOption("commit-memo-chunks", COMMIT_MEMO_CHUNKS),
    });
    console.error(
      `commitment pool: ${pool.workers} workers, ${pool.prioritized ? "prioritized" : "first come"}, ${pool.memoChunks} chunks kept`,
    );
    const rows: Row[] = [];
    const figures: Record<string, number> = {};
    for (const n of numberListOption("scale", [])) {
      const measured = await measureRoundScale(n);
      rows.push(measured.row);
      Object.assign(figures, measured.figures);
      printTable([measured.row]); // each size as it finishes: a larger one may not
    }
    printTable(rows);
    await writeResults("round-scale", figures, rows);
    return;
  }
  const only = option("nodes") !== undefined;
  const fanInOnly = flag("fan-in");
  const compressionOnly = flag("compression");
  const sizes = fanInOnly || compressionOnly ? [] : numberListOption("nodes", isQuick() ? [8] : [8, 32, 128]);
  const rows: Row[] = [];
  const figures: Record<string, number> = {};
  for (const n of sizes) {
    const setupStarted = performance.now();
    const net = await startLocalVainNetwork({
      nodes: n,
      port: await freePort(),
      log: pino({ level: process.env["VAIN_BENCH_LOG"] ?? "silent" }, pino.destination(2)),
      spec: { train: { epochs: 2, batchSize: 32, learningRate: 0.1 } },
      pollIntervalMs: n <= 8 ? 300 : n <= 32 ? 800 : 2_000,
    });
    const setupMs = performance.now() - setupStarted;
    try {
      await setAggregators(net, [0]);
      // Warm-up round (JIT, Poseidon tables, proof artifacts), then the measured one.
      await runRound(net, 1, 300_000, 180_000);
      const before = net.nodes.map((node) => ({ ...node.participant.stats }));
      const report = await runRound(net, 2, 300_000, 180_000);
      const sent = net.nodes.reduce(
        (sum, node, i) => sum + node.participant.stats.bytesSent - before[i]!.bytesSent,
        0,
      );
      const received = net.nodes.reduce(
        (sum, node, i) => sum + node.participant.stats.bytesReceived - before[i]!.bytesReceived,
        0,
      );

      // Baseline: the same local training and a plain weighted average, nothing else.
      const model = createModel(net.spec.model);
      const base = model.init(net.spec.initSeed);
      const baselineStarted = performance.now();
      const trained = await Promise.all(
        net.nodes.slice(0, net.trainers).map((node) =>
          net.pool.train({
            model: net.spec.model,
            params: base,
            data: node.participant.dataset,
            options: { ...net.spec.train, seed: 1 },
          }),
        ),
      );
      fedAvg(
        trained.map((t) => ({
          update: mapFloat32(t.params, (v, i) => v - base[i]!),
          weight: t.samples,
        })),
      );
      const baselineMs = performance.now() - baselineStarted;
      const denseBytes = net.trainers * model.layout.size * 4;

      rows.push({
        nodes: n,
        trainers: net.trainers,
        transport: "TCP+Noise+Yamux",
        state: report.state,
        proven: report.proven ? "yes" : "no",
        included: report.included,
        "setup s": setupMs / 1000,
        "round s": report.durationMs / 1000,
        "train+commit s": report.phaseMs.train / 1000,
        "aggregate s": report.phaseMs.aggregate / 1000,
        "prove s": report.phaseMs.prove / 1000,
        "finalize s": report.phaseMs.finalize / 1000,
        "bytes sent, all nodes": report.bytesSent,
        "dense update bytes": denseBytes,
        "bytes/node": Math.round((sent + received) / n),
        "baseline s": baselineMs / 1000,
        accuracy: report.accuracy,
      });
      figures[`round_s_${n}`] = report.durationMs / 1000;
      figures[`bytes_per_node_${n}`] = Math.round((sent + received) / n);
      figures[`baseline_s_${n}`] = baselineMs / 1000;
      figures[`update_compression_${n}`] = denseBytes / Math.max(1, report.bytesSent);
    } finally {
      await net.stop();
    }
  }
  // Hierarchical aggregation on the real protocol: the contract's largest round (16 trainers), flat (the
  // aggregator receives all 16 updates) against a tree with fan-in 4 (sub-aggregators, spot-checked partials).
  const fanInRows: Row[] = [];
  if (fanInOnly || (!isQuick() && !only && !compressionOnly)) {
    for (const maxFanIn of [16, 4]) {
      const net = await startLocalVainNetwork({
        nodes: 16,
        port: await freePort(),
        maxTrainersPerRound: 16,
        // Sixteen trainers share this machine's two cores: give each phase room (the clock is advanced anyway).
        windowS: 120n,
        aggregateWaitMs: 60_000,
        log: pino({ level: process.env["VAIN_BENCH_LOG"] ?? "silent" }, pino.destination(2)),
        spec: {
          train: { epochs: 2, batchSize: 32, learningRate: 0.1 },
          aggregation: { maxFanIn, spotChecks: 4 },
        },
        pollIntervalMs: 800,
      });
      try {
        await setAggregators(net, [0]);
        await runRound(net, 1, 300_000, 180_000);
        const before = net.nodes.map((node) => ({ ...node.participant.stats }));
        const report = await runRound(net, 2, 300_000, 180_000);
        const inputs = net.nodes.map((node) => node.participant.outcome(report.roundId)?.inputs ?? 0);
        const receivedBy = net.nodes.map(
          (node, i) => node.participant.stats.bytesReceived - before[i]!.bytesReceived,
        );
        const label = maxFanIn >= 16 ? "flat" : `tree, fan-in ${maxFanIn}`;
        fanInRows.push({
          aggregation: label,
          trainers: net.trainers,
          state: report.state,
          proven: report.proven ? "yes" : "no",
          included: report.included,
          "max inputs/node": Math.max(...inputs),
          "max bytes in/node": Math.max(...receivedBy),
          "root bytes in": receivedBy[0]!,
          "aggregate s": report.phaseMs.aggregate / 1000,
          "round s": report.durationMs / 1000,
          accuracy: report.accuracy,
        });
        const key = maxFanIn >= 16 ? "flat16" : `tree${maxFanIn}`;
        figures[`max_inputs_${key}`] = Math.max(...inputs);
        figures[`max_bytes_in_${key}`] = Math.max(...receivedBy);
        figures[`aggregate_s_${key}`] = report.phaseMs.aggregate / 1000;
      } finally {
        await net.stop();
      }
    }
  }
  const compressionRows: Row[] = [];
  if (compressionOnly || (!fanInOnly && !only)) {
    const rounds = numberOption("rounds", isQuick() ? 3 : 10);
    const picked = numberListOption(
      "configs",
      COMPRESSION_CONFIGS.map((_, i) => i),
    );
    const seed = numberOption("seed", 1);
    for (const index of picked) {
      const config = COMPRESSION_CONFIGS[index];
      if (config === undefined) throw new BenchArgumentError(`--configs: no config ${index}`);
      const row = await measureCompression(
        config,
        8,
        rounds,
        (line) => process.stdout.write(`${line}\n`),
        seed,
      );
      compressionRows.push(row);
      const key = index === 0 ? "" : `_${index}`;
      figures[`updateCompressionRatio${key}`] = row["update ×"] as number;
      figures[`totalBytesRatio${key}`] = row["total ×"] as number;
      figures[`accuracyLossPts${key}`] = row["loss pts"] as number;
      if (compressionOnly) await writeResults("round-compression", figures, compressionRows);
    }
  }
  if (rows.length > 0) printTable(rows);
  if (fanInRows.length > 0) printTable(fanInRows);
  if (compressionRows.length > 0) printTable(compressionRows);
  const name = fanInOnly ? "round-hierarchy" : compressionOnly ? "round-compression" : "round";
  await writeResults(name, figures, [...rows, ...fanInRows, ...compressionRows]);
  process.stdout.write(
    "\nphases: train+commit = open → all commitments; aggregate = commit deadline → aggregate posted (streams, verification, screening);\n" +
      "prove = posted → sampled chunk answered with a Groth16 proof; finalize = → closed. Chain time is advanced between phases.\n",
  );
});
