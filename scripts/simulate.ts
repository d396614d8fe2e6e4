/**
 * `npm run simulate`: an in-process federated simulation with N virtual nodes and R rounds. Prints per-round
 * accuracy and loss with a progress bar, writes a CSV and an SVG plot of accuracy against rounds.
 *
 *   npm run simulate -- --nodes 10 --rounds 20 --model cnn --algorithm fedavg --partition dirichlet --alpha 0.1
 *   npm run simulate -- --model transformer --partition topic --rounds 10 --lr 0.003
 *   npm run simulate -- --model mlp --partition dirichlet --alpha 0.5 --rule guarded-mean
 *
 * `--model transformer` trains the character transformer on WordNet glosses (local Adam; `--width`,
 * `--layers`, `--context` size it, `--glosses` caps glosses per topic); `--partition topic` gives each node
 * whole WordNet topics.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";

import { z } from "zod";

import { AGGREGATOR_NAMES } from "../node/aggregation/index.ts";
import type { AggregatorName } from "../node/aggregation/index.ts";
import { TrainingPool, loadMnist, loadWordnetTask, runSimulation } from "../node/training/index.ts";
import type { ModelSpec, OptimizerSpec, PartitionScheme, RoundRecord } from "../node/training/index.ts";

const optionsSchema = z.object({
  nodes: z.coerce.number().int().min(1).max(1000),
  rounds: z.coerce.number().int().min(1).max(1000),
  model: z.enum(["mlp", "cnn", "transformer"]),
  algorithm: z.enum(["fedavg", "fedsgd", "fedprox", "fedadam", "fedyogi", "diloco", "reptile"]),
  partition: z.enum(["iid", "shards", "dirichlet", "topic"]),
  /** The server's aggregation rule, by registry name (node/aggregation/rules). */
  rule: z.enum(AGGREGATOR_NAMES as [AggregatorName, ...AggregatorName[]]),
  alpha: z.coerce.number().positive(),
  epochs: z.coerce.number().int().min(1),
  lr: z.coerce.number().positive(),
  batch: z.coerce.number().int().min(1),
  seed: z.coerce.number().int(),
  out: z.string(),
  width: z.coerce.number().int().positive(),
  layers: z.coerce.number().int().positive(),
  context: z.coerce.number().int().min(2),
  glosses: z.coerce.number().int().positive(),
});

/** An SVG line plot of accuracy against round. */
export function accuracyPlot(history: readonly RoundRecord[], title: string): string {
  const width = 640;
  const height = 360;
  const pad = 48;
  const maxRound = Math.max(1, ...history.map((r) => r.round));
  const x = (round: number) => pad + ((width - 2 * pad) * (round - 1)) / Math.max(1, maxRound - 1);
  const y = (acc: number) => height - pad - (height - 2 * pad) * acc;
  const points = history.map((r) => `${x(r.round).toFixed(1)},${y(r.accuracy).toFixed(1)}`).join(" ");
  const gridY = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (a) =>
        `<line x1="${pad}" x2="${width - pad}" y1="${y(a)}" y2="${y(a)}" stroke="#ddd"/><text x="${pad - 8}" y="${y(a) + 4}" text-anchor="end" font-size="11">${a}</text>`,
    )
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="24" text-anchor="middle" font-size="14">${title}</text>
${gridY}
<text x="${width / 2}" y="${height - 12}" text-anchor="middle" font-size="12">round (1..${maxRound})</text>
<text x="14" y="${height / 2}" transform="rotate(-90 14 ${height / 2})" text-anchor="middle" font-size="12">test accuracy</text>
<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="${points}"/>
</svg>
`;
}

function progressBar(done: number, total: number): string {
  const width = 30;
  const filled = Math.round((width * done) / total);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: "string", default: "10" },
      rounds: { type: "string", default: "20" },
      model: { type: "string", default: "cnn" },
      algorithm: { type: "string", default: "fedavg" },
      partition: { type: "string", default: "iid" },
      rule: { type: "string", default: "fedavg" },
      alpha: { type: "string", default: "0.1" },
      epochs: { type: "string", default: "1" },
      lr: { type: "string", default: "0.05" },
      batch: { type: "string", default: "32" },
      seed: { type: "string", default: "1" },
      out: { type: "string", default: "bench/results/simulate" },
      // Transformer sizes: small enough for a 10-node run in minutes on 2 cores.
      width: { type: "string", default: "64" },
      layers: { type: "string", default: "2" },
      context: { type: "string", default: "32" },
      glosses: { type: "string", default: "200" },
    },
  });
  const parsed = optionsSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    process.stderr.write(`simulate: --${issue?.path.join(".")}: ${issue?.message}\n`);
    process.exit(2);
  }
  const o = parsed.data;
  const scheme: PartitionScheme =
    o.partition === "iid"
      ? { kind: "iid" }
      : o.partition === "shards"
        ? { kind: "shards", shardsPerNode: 2 }
        : o.partition === "topic"
          ? { kind: "group" }
          : { kind: "dirichlet", alpha: o.alpha };
  const text = o.model === "transformer";
  const model: ModelSpec = text
    ? {
        kind: "transformer",
        width: o.width,
        layers: o.layers,
        context: o.context,
        heads: Math.max(1, Math.floor(o.width / 32)),
      }
    : { kind: o.model };
  const local: OptimizerSpec = text
    ? { kind: "adam" }
    : { kind: "sgd", momentum: o.algorithm === "fedsgd" ? 0 : 0.9 };
  const pool = new TrainingPool();
  const data = text
    ? loadWordnetTask({ context: o.context, maxGlossesPerTopic: o.glosses, seed: o.seed })
    : loadMnist({ seed: o.seed });
  const server = o.algorithm === "fedsgd" || o.algorithm === "fedprox" ? "fedavg" : o.algorithm;
  process.stdout.write(
    `simulating ${o.nodes} nodes × ${o.rounds} rounds, ${o.model}, ${o.algorithm}, ${o.partition}, rule ${o.rule}\n`,
  );
  const result = await runSimulation(
    pool,
    {
      model,
      optimizer: local,
      proxMu: o.algorithm === "fedprox" ? 0.01 : 0,
      server,
      nodes: o.nodes,
      rounds: o.rounds,
      partition: scheme,
      localEpochs: o.algorithm === "fedsgd" ? undefined : o.epochs,
      localSteps: o.algorithm === "fedsgd" ? 1 : undefined,
      batchSize: o.algorithm === "fedsgd" ? 100_000 : o.batch,
      learningRate: o.lr,
      rule: o.rule,
      seed: o.seed,
    },
    data,
    {
      onRound: (r) =>
        process.stdout.write(
          `${progressBar(r.round, o.rounds)}  round ${r.round}  accuracy ${(r.accuracy * 100).toFixed(2)}%  loss ${r.loss.toFixed(4)}  ${r.seconds.toFixed(1)} s\n`,
        ),
    },
  );
  await pool.close();
  await mkdir(o.out.replace(/[^/]*$/, "") || ".", { recursive: true });
  const csv = [
    "round,accuracy,loss,uplink_bytes_per_node,seconds",
    ...result.history.map((r) => `${r.round},${r.accuracy},${r.loss},${r.uplinkBytesPerNode},${r.seconds}`),
  ].join("\n");
  await writeFile(`${o.out}.csv`, `${csv}\n`);
  await writeFile(
    `${o.out}.svg`,
    accuracyPlot(result.history, `${o.algorithm} · ${o.model} · ${o.nodes} nodes · ${o.partition}`),
  );
  process.stdout.write(`wrote ${o.out}.csv and ${o.out}.svg\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`simulate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
