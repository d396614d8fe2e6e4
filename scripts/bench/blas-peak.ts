/**
 * The machine's single-thread SGEMM peak as a BLAS library reaches it: OpenBLAS through numpy, when the
 * machine has python3 with numpy (FACTS.md measured it there). onnxruntime's own MatMul (MLAS) reaches
 * roughly 60% of it on this kind of machine, so a fraction of onnxruntime's peak alone would flatter the
 * engine; bench:training reports the transformer against the higher of the two.
 */
import { spawnSync } from "node:child_process";

/** Past this a loaded machine is swapping or stuck, not computing a 2048² product five times. */
const BLAS_TIMEOUT_MS = 120_000;

const SCRIPT = `
import sys, time, numpy as np
n, repeats = int(sys.argv[1]), int(sys.argv[2])
a = np.random.default_rng(1).random((n, n), dtype=np.float32)
b = np.random.default_rng(2).random((n, n), dtype=np.float32)
a @ b
t = time.perf_counter()
for _ in range(repeats): a @ b
print(2 * n ** 3 * repeats / (time.perf_counter() - t) / 1e9)
`;

/** GFLOP/s of an n×n float32 product on one BLAS thread, or undefined without python3 and numpy. */
export function blasPeakGflops(n: number, repeats: number): number | undefined {
  const run = spawnSync("python3", ["-c", SCRIPT, String(n), String(repeats)], {
    encoding: "utf8",
    timeout: BLAS_TIMEOUT_MS,
    // One thread, whichever BLAS numpy was built with.
    env: { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" },
  });
  if (run.status !== 0) return undefined;
  const gflops = Number(run.stdout.trim());
  return Number.isFinite(gflops) && gflops > 0 ? gflops : undefined;
}
