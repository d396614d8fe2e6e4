/**
 * `npm run bench:training`: local training throughput of the MLP 784-128-10 (batch 128, one thread)
 * against a pure-TypeScript baseline in the same run, achieved FLOP/s against a large single-thread MatMul
 * (the practical ceiling), the CNN's throughput and a training worker's memory; then the character
 * transformer's tokens/s per thread (training-transformer.ts). `--only transformer` runs only those rows.
 */
import * as ort from "onnxruntime-node";

import { GraphBuilder } from "../../node/training/graph/autodiff.ts";
import { encodeModel } from "../../node/training/graph/onnx.ts";
import { LocalTrainer, TrainingPool, createModel, loadMnist } from "../../node/training/index.ts";
import { isQuick, option, printTable, runBenchmark, writeResults } from "./common.ts";
import { transformerRows } from "./training-transformer.ts";
import type { Ceiling } from "./training-transformer.ts";
import { blasPeakGflops } from "./blas-peak.ts";
import { ReferenceMlp } from "./reference-mlp.ts";
import type { Row } from "./common.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";

const BATCH = 128;
/**
 * FLOPs per sample of one 784-128-10 training step, counting only what the graph computes: the forward
 * pass (2·MACs), both weight gradients (2·MACs) and the hidden layer's input gradient (2·128·10); the
 * input layer's gradient is never computed.
 */
const MLP_FLOPS_PER_SAMPLE = 2 * (784 * 128 + 128 * 10) * 2 + 2 * 128 * 10;

async function onnxThroughput(kind: "mlp" | "cnn", steps: number): Promise<number> {
  const { train } = loadMnist({ seed: 1 });
  const trainer = await LocalTrainer.create({ kind }, { kind: "sgd", momentum: 0.9 });
  const params = trainer.model.init(1);
  // Warm-up: the first steps grow onnxruntime's memory arena and are several times slower.
  await trainer.train(params, train, { steps: 60, batchSize: BATCH, learningRate: 0.01 });
  const started = performance.now();
  const result = await trainer.train(params, train, { steps, batchSize: BATCH, learningRate: 0.01 });
  const seconds = (performance.now() - started) / 1000;
  await trainer.close();
  return result.samples / seconds;
}

function baselineThroughput(steps: number): number {
  const { train } = loadMnist({ seed: 1 });
  const model = new ReferenceMlp(784, 128, 10, createModel({ kind: "mlp" }).init(1));
  const x = train.features.subarray(0, BATCH * 784);
  const labels = train.labels.subarray(0, BATCH);
  model.step(x, labels, BATCH, 0.01);
  const started = performance.now();
  for (let i = 0; i < steps; i++) model.step(x, labels, BATCH, 0.01);
  return (steps * BATCH) / ((performance.now() - started) / 1000);
}

async function peakGflops(n: number, repeats: number): Promise<number> {
  const g = new GraphBuilder();
  const a = g.input("a", [n, n]);
  const b = g.input("b", [n, n]);
  g.output(g.raw("MatMul", [a, b], [n, n]), "c");
  const bytes = encodeModel({
    name: "matmul",
    nodes: g.nodes,
    inputs: g.inputs,
    outputs: g.outputs,
    initializers: g.initializers,
  });
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const data = mapFloat32({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000);
  const feeds = { a: new ort.Tensor("float32", data, [n, n]), b: new ort.Tensor("float32", data, [n, n]) };
  await session.run(feeds);
  const started = performance.now();
  for (let i = 0; i < repeats; i++) await session.run(feeds);
  const seconds = (performance.now() - started) / 1000;
  await session.release();
  return (2 * n ** 3 * repeats) / seconds / 1e9;
}

/**
 * One reading of the transformer's ceiling, taken after each width's run: the higher of onnxruntime's MatMul
 * peak and OpenBLAS's SGEMM (when numpy is there); the transformer rows divide by the run's highest reading.
 */
function sgemmCeiling(quick: boolean): () => Promise<Ceiling> {
  return async () => {
    const onnx = await peakGflops(quick ? 1024 : 2048, quick ? 3 : 5);
    const blas = blasPeakGflops(quick ? 1024 : 2048, quick ? 3 : 5);
    return { onnx, blas, peak: Math.max(onnx, blas ?? 0) };
  };
}

async function workerMemoryMb(): Promise<number> {
  const before = process.memoryUsage().rss;
  const pool = new TrainingPool({ size: 1 });
  const { train } = loadMnist({ seed: 1 });
  await pool.train({
    model: { kind: "mlp" },
    params: createModel({ kind: "mlp" }).init(1),
    data: train,
    options: { steps: 20, batchSize: BATCH, learningRate: 0.01 },
  });
  const peak = pool.peakRssBytes;
  await pool.close();
  return (peak - before) / 2 ** 20;
}

runBenchmark(async () => {
  const quick = isQuick();
  if (option("only") === "transformer") {
    const t = await transformerRows(quick, sgemmCeiling(quick));
    printTable(t.rows);
    await writeResults("training-transformer", t.figures, t.rows);
    return;
  }
  const steps = quick ? 300 : 1000;
  process.stdout.write(
    `bench:training (${quick ? "quick" : "full"}): MLP 784-128-10, batch ${BATCH}, one thread\n`,
  );
  const samplesPerSec = await onnxThroughput("mlp", steps);
  const baselineSamplesPerSec = baselineThroughput(quick ? 10 : 30);
  const cnnSamplesPerSec = await onnxThroughput("cnn", quick ? 40 : 120);
  const peak = await peakGflops(quick ? 1024 : 2048, quick ? 3 : 5);
  const gflops = (samplesPerSec * MLP_FLOPS_PER_SAMPLE) / 1e9;
  const workerMemMB = await workerMemoryMb();
  const table: Row[] = [
    { implementation: "onnxruntime MLP (vAIn)", samplesPerSec: Math.round(samplesPerSec), gflops },
    {
      implementation: "pure TypeScript MLP (baseline)",
      samplesPerSec: Math.round(baselineSamplesPerSec),
      gflops: (baselineSamplesPerSec * MLP_FLOPS_PER_SAMPLE) / 1e9,
    },
    { implementation: "onnxruntime CNN (vAIn)", samplesPerSec: Math.round(cnnSamplesPerSec), gflops: 0 },
    { implementation: "single-thread MatMul peak", samplesPerSec: 0, gflops: peak },
  ];
  const transformer = await transformerRows(quick, sgemmCeiling(quick));
  table.push(...transformer.rows);
  printTable(table);
  await writeResults(
    "training",
    {
      samplesPerSec,
      baselineSamplesPerSec,
      speedup: samplesPerSec / baselineSamplesPerSec,
      gflops,
      peakGflops: peak,
      peakFraction: gflops / peak,
      cnnSamplesPerSec,
      workerMemMB,
      ...transformer.figures,
    },
    table,
  );
});
