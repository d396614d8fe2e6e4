/**
 * bench:training's transformer rows: tokens per second of one thread for the character transformer's
 * training step (forward, backward, Adam) on WordNet glosses, its FLOPs per token and the fraction of the
 * single-thread SGEMM peak (the higher of onnxruntime's MatMul and OpenBLAS's, blas-peak.ts), measured after
 * every width and taken at its highest in the run (the load of a shared machine changes within minutes); against a pure-TypeScript baseline that runs only the
 * step's matrix products (same shapes, forward + both backward products, plain loops) — optimistic for
 * TypeScript, since it leaves out every elementwise op. Each row also gives the model's commitment chunks: a
 * bigger model is more chunks, each sampled one proven at the same cost (docs/protocol.md §7).
 */
import { chunkCount } from "../../node/proofs/commitment.ts";
import { LocalTrainer, createModel, loadWordnetTask, modelSpecSchema } from "../../node/training/index.ts";
import { transformerFlopsPerToken } from "../../node/training/transformer.ts";
import type { TransformerSpec } from "../../node/training/transformer.ts";
import type { Row } from "./common.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";

const BATCH = 32;

/** A single-thread peak measurement: onnxruntime's MatMul, OpenBLAS's SGEMM when present, and the higher. */
export interface Ceiling {
  readonly onnx: number;
  readonly blas: number | undefined;
  readonly peak: number;
}
const CONTEXT = 64;

function spec(width: number): TransformerSpec {
  const parsed = modelSpecSchema.parse({ kind: "transformer", width, heads: width / 32, context: CONTEXT });
  if (parsed.kind !== "transformer") throw new Error("unreachable");
  return parsed;
}

async function onnxTokensPerSec(s: TransformerSpec, steps: number): Promise<number> {
  const { train } = loadWordnetTask({ context: CONTEXT, maxGlossesPerTopic: 60, seed: 1 });
  const trainer = await LocalTrainer.create(s, { kind: "adam" });
  const params = trainer.model.init(1);
  // Warm-up: the first steps size onnxruntime's memory arena.
  await trainer.train(params, train, { steps: 3, batchSize: BATCH, learningRate: 1e-3 });
  const started = performance.now();
  const result = await trainer.train(params, train, { steps, batchSize: BATCH, learningRate: 1e-3 });
  const seconds = (performance.now() - started) / 1000;
  await trainer.close();
  return (result.samples * CONTEXT) / seconds;
}

/** c[m,n] = a[m,k]·b[k,n], i-k-j loops (the cache-friendly order a careful hand-written version uses). */
function gemm(a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number): void {
  c.fill(0);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p]!;
      const row = p * n;
      const out = i * n;
      for (let j = 0; j < n; j++) c[out + j]! += av * b[row + j]!;
    }
  }
}

/** Tokens/s of the pure-TS baseline: every forward product of a step run three times (forward, dX, dW). */
function baselineTokensPerSec(s: TransformerSpec, batch: number): number {
  const m = batch * s.context;
  const d = s.width / s.heads;
  const shapes: [number, number, number, number][] = []; // [m, k, n, repeats]
  for (let l = 0; l < s.layers; l++) {
    shapes.push(
      [m, s.width, s.width, 4],
      [m, s.width, s.width * s.mlpRatio, 1],
      [m, s.width * s.mlpRatio, s.width, 1],
    );
    shapes.push([s.context, d, s.context, batch * s.heads], [s.context, s.context, d, batch * s.heads]);
  }
  shapes.push([m, s.width, s.vocab, 1]);
  const buffers = shapes.map(([mm, k, n]) => ({
    a: mapFloat32({ length: mm * k }, (_, i) => (i % 13) / 13),
    b: mapFloat32({ length: k * n }, (_, i) => (i % 7) / 7),
    c: new Float32Array(mm * n),
  }));
  const started = performance.now();
  shapes.forEach(([mm, k, n, repeats], i) => {
    const { a, b, c } = buffers[i]!;
    for (let r = 0; r < 3 * repeats; r++) gemm(a, b, c, mm, k, n);
  });
  return m / ((performance.now() - started) / 1000);
}

/** Rows and figures for the transformer at widths 64 and 128 (256 too in a full run). */
export async function transformerRows(
  quick: boolean,
  ceiling: () => Promise<Ceiling>,
): Promise<{ rows: Row[]; figures: Record<string, number> }> {
  const rows: Row[] = [];
  const figures: Record<string, number> = {};
  const measured: { row: Row; gflops: number; key?: string }[] = [];
  let highest = 0;
  for (const width of quick ? [64, 128] : [64, 128, 256]) {
    const s = spec(width);
    const flops = transformerFlopsPerToken(s);
    const tokens = await onnxTokensPerSec(s, quick ? 8 : 30);
    const { onnx, blas, peak } = await ceiling();
    highest = Math.max(highest, peak);
    const gflops = (tokens * flops) / 1e9;
    const row: Row = {
      implementation: `onnxruntime transformer w${width} L${s.layers} T${s.context}, ${createModel(s).layout.size} params [tokens/s]`,
      samplesPerSec: Math.round(tokens),
      flopsPerToken: flops,
      gflops,
      peakAfterGflops: peak,
      // The commitment's chunks (one Merkle leaf and, when sampled, one chunk proof of the same fixed cost).
      chunks: chunkCount(createModel(s).layout.size),
      onnxPeakGflops: onnx,
      blasPeakGflops: blas ?? 0,
    };
    rows.push(row);
    measured.push({ row, gflops, key: `transformerW${width}PeakFraction` });
    figures[`transformerW${width}TokensPerSec`] = tokens;
    figures[`transformerW${width}FlopsPerToken`] = flops;
    figures[`transformerW${width}PeakAfterGflops`] = peak;
    figures[`transformerW${width}Chunks`] = chunkCount(createModel(s).layout.size);
    if (width === 128) {
      const baseline = baselineTokensPerSec(s, 1);
      const row: Row = {
        implementation: `pure TypeScript transformer w${width}, GEMMs only (baseline) [tokens/s]`,
        samplesPerSec: Math.round(baseline),
        gflops: (baseline * flops) / 1e9,
      };
      rows.push(row);
      measured.push({ row, gflops: (baseline * flops) / 1e9 });
      figures.transformerBaselineTokensPerSec = baseline;
      figures.transformerSpeedup = tokens / baseline;
    }
  }
  // Every fraction against the highest peak measured in the run: on a shared machine a peak measured under
  // a passing load spike would flatter the engine.
  for (const { row, gflops, key } of measured) {
    row.peakFraction = gflops / highest;
    if (key !== undefined) figures[key] = gflops / highest;
  }
  figures.sgemmPeakGflops = highest;
  return { rows, figures };
}
