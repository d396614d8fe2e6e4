/**
 * Memory over N rounds of an aggregator's work in one process, as scripts/bench/prover-rss.ts does for proofs:
 * per round, a soak-sized round of the default task (5 trainers, the 101,770-parameter MLP, dense wire updates):
 * each update's check against its commitment (`commitUpdateBytes`, the commitment pool's worker threads), the
 * task's rule in its worker (the guarded mean with trainer trust, `OffThreadRule`, one kept for the run as the
 * node keeps it), the fixed-point aggregate and its commitment, the same recomputed as `recomputeAggregate` does
 * (a watcher, a rebuilt aggregate), and one challenged chunk proved and verified on the prover thread. After each
 * round (after a GC with --expose-gc): RSS, V8 heap, external memory and ArrayBuffers; then the lowest RSS per 10
 * rounds. Flat minima: the aggregation path keeps nothing per round. Run it with and without glibc's
 * `MALLOC_ARENA_MAX=2` / a fixed `MALLOC_MMAP_THRESHOLD_=131072` to see what the allocator adds.
 *
 * Usage: node_modules/.bin/node --expose-gc scripts/bench/aggregator-rss.ts [N=30] [--skip=prove,rule,commit]
 * `--skip`: leave out the proof (prover thread), the rule (its worker) or the commitments (the pool's workers), to
 * tell which part's memory a curve shows.
 */
import { inputGroups } from "../../node/aggregation/coordinate-groups.ts";
import { OffThreadRule } from "../../node/aggregation/rule-worker.ts";
import { DEFAULT_TASK_RULE } from "../../node/chain/constants.ts";
import { decodeUpdate, encodeUpdate } from "../../node/compression/wire.ts";
import { densify } from "../../node/compression/sparse.ts";
import { Rng } from "../../node/core/rng.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";
import { CHUNK_SIZE } from "../../node/proofs/constants.ts";
import { aggregateFixedPoint, commitEncoded, encodeFixedPoint } from "../../node/proofs/index.ts";
import { proveChunk, verifyChunkProof } from "../../node/proofs/prover.ts";
import { commitUpdateBytes } from "../../node/protocol/update.ts";
import { ASSUMED_BYZANTINE_SHARE } from "../../node/protocol/round/context.ts";
import { createModel } from "../../node/training/architectures.ts";

/** Trainers per round: the full soak's 5 nodes. */
const TRAINERS = 5;

const n = Number(process.argv.slice(2).find((a) => !a.startsWith("--")) ?? 30);
const skip = new Set(
  (process.argv.find((a) => a.startsWith("--skip="))?.slice("--skip=".length) ?? "")
    .split(",")
    .filter(Boolean),
);
const model = createModel({ kind: "mlp" });
const dimension = model.init(0).length;
const rule = new OffThreadRule({
  name: DEFAULT_TASK_RULE,
  options: {
    n: TRAINERS,
    f: Math.floor(TRAINERS * ASSUMED_BYZANTINE_SHARE),
    groups: inputGroups(model.layout),
  },
});
const indices = Uint32Array.from({ length: dimension }, (_, i) => i);
const mb = (x: number) => Math.round(x / 1048576);
const rss: number[] = [];
/** CPU ms (user + system, every thread of the process) per round: what the allocator setting costs, load aside. */
const cpu: number[] = [];
for (let round = 0; round < n; round++) {
  // New values every round: the commitment pool keeps its last commitments by content (COMMIT_MEMO_CHUNKS), so
  // repeated vectors would measure its memo, not the work.
  const rng = new Rng(1000 + round);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const deltas = Array.from({ length: TRAINERS }, () =>
    mapFloat32({ length: dimension }, () => rng.normal() * 0.01),
  );
  const wire = deltas.map((values) => encodeUpdate({ dimension, indices, values }));
  const checked = skip.has("commit")
    ? wire.map((bytes) => ({ encoded: encodeFixedPoint(densify(decodeUpdate(bytes))) }))
    : await Promise.all(wire.map((bytes) => commitUpdateBytes(bytes, dimension, "urgent")));
  const accepted = skip.has("rule")
    ? deltas.map((_, i) => 100 + i)
    : (await rule.aggregate(deltas.map((update, i) => ({ update, weight: 100 + i })))).acceptedWeights;
  const weights = accepted.map((w) => Math.max(1, Math.round(w)));
  const encoded = checked.map((c) => c.encoded);
  const { aggregate } = aggregateFixedPoint(encoded, weights);
  if (!skip.has("commit")) await commitEncoded(aggregate, "urgent");
  // The recomputation a watcher (or a rebuilt aggregate) does: fresh arrays, the same commitment.
  const again = aggregateFixedPoint(
    checked.map((c) => Uint16Array.from(c.encoded)),
    weights,
  );
  if (!skip.has("commit")) await commitEncoded(again.aggregate, "background");
  // One challenged chunk, a different one each round (the sample draw), over the round's trainers.
  const chunk = round % Math.ceil(dimension / CHUNK_SIZE);
  let ok = true;
  if (!skip.has("prove")) {
    const proof = await proveChunk(BigInt(round), chunk, encoded, weights);
    ok = await verifyChunkProof(proof.proof, proof.statement);
  }
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const used = process.cpuUsage(cpuBefore);
  cpu.push((used.user + used.system) / 1000);
  rss.push(mb(m.rss));
  console.log(
    JSON.stringify({
      round,
      ok,
      ms: Math.round(performance.now() - started),
      cpuMs: Math.round(cpu.at(-1)!),
      rss: mb(m.rss),
      heap: mb(m.heapUsed),
      ext: mb(m.external),
      ab: mb(m.arrayBuffers),
    }),
  );
}
await rule.close();
const minima = Array.from({ length: Math.ceil(n / 10) }, (_, k) =>
  Math.min(...rss.slice(k * 10, k * 10 + 10)),
);
console.log(
  `lowest RSS per 10 rounds (MB): ${minima.join(", ")}; CPU per round after the first 5: ` +
    `${Math.round(cpu.slice(5).reduce((a, b) => a + b, 0) / Math.max(1, cpu.length - 5))} ms` +
    `${skip.size === 0 ? "" : ` without ${[...skip].join(", ")}`}` +
    ` (MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? "-"}, MALLOC_MMAP_THRESHOLD_=${process.env.MALLOC_MMAP_THRESHOLD_ ?? "-"})`,
);
process.exit(0);
