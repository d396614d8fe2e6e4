/**
 * Memory over N proofs and verifications in one process (node/proofs/prover-thread.ts): RSS, V8 heap, external
 * memory and ArrayBuffers after each (after a GC with --expose-gc), then the lowest RSS per 10 proofs. Flat
 * minima: the prover leaves nothing behind per proof.
 *
 * Usage: node_modules/.bin/node --expose-gc scripts/bench/prover-rss.ts [N=30]
 */
import { Rng } from "../../node/core/rng.ts";
import { CHUNK_SIZE, PROOF_TRAINERS } from "../../node/proofs/constants.ts";
import { encodeFixedPoint } from "../../node/proofs/fixed-point.ts";
import { proveChunk, verifyChunkProof } from "../../node/proofs/prover.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";

const n = Number(process.argv[2] ?? 30);
const rng = new Rng(5);
const updates = Array.from({ length: PROOF_TRAINERS }, () =>
  encodeFixedPoint(mapFloat32({ length: CHUNK_SIZE }, () => rng.normal() * 0.05)),
);
const weights = updates.map((_, i) => 10 + i);
const mb = (x: number) => Math.round(x / 1048576);
const rss: number[] = [];
for (let i = 0; i < n; i++) {
  const p = await proveChunk(BigInt(i), 0, updates, weights);
  const ok = await verifyChunkProof(p.proof, p.statement);
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  rss.push(mb(m.rss));
  console.log(
    JSON.stringify({
      i,
      ok,
      ms: Math.round(p.proveMs),
      rss: mb(m.rss),
      heap: mb(m.heapUsed),
      ext: mb(m.external),
      ab: mb(m.arrayBuffers),
    }),
  );
}
const minima = Array.from({ length: Math.ceil(n / 10) }, (_, k) =>
  Math.min(...rss.slice(k * 10, k * 10 + 10)),
);
console.log(`lowest RSS per 10 proofs (MB): ${minima.join(", ")}`);
