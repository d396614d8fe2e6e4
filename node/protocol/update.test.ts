import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { signFlip } from "../adversary/poison-update.ts";
import { taskSpecSchema } from "./task-spec.ts";
import { DELTA_CLIP, trainerDelta } from "./update.ts";
import { mapFloat32 } from "../core/vectors.ts";

function norm(values: Float32Array): number {
  let sum = 0;
  for (const v of values) sum += v * v;
  return Math.sqrt(sum);
}

describe("trainer updates", () => {
  it("is local minus base, transformed for the demo's adversaries, clipped to the fixed-point range", () => {
    const base = Float32Array.from([0, 1, -1, 0.5]);
    const local = Float32Array.from([0.25, 30, -1.5, 0.5]);
    assert.deepEqual([...trainerDelta(local, base)], [0.25, DELTA_CLIP, -0.5, 0].map(Math.fround));
    assert.deepEqual(
      [...trainerDelta(local, base, { transform: (d) => signFlip(d, 4) })],
      [-1, -DELTA_CLIP, 2, -0].map(Math.fround),
    );
    assert.throws(() => trainerDelta(local, base.subarray(1)), RangeError);
  });

  it("with DP: clips to the L2 bound, adds Gaussian noise of the stated scale, never the same noise twice", () => {
    const n = 20_000;
    const base = new Float32Array(n);
    const local = mapFloat32({ length: n }, (_, i) => (i % 7) / 10);
    const clipped = trainerDelta(local, base, { dp: { clipNorm: 2, noiseMultiplier: 0 } });
    assert.ok(Math.abs(norm(clipped) - 2) < 1e-3, `norm ${norm(clipped)}`);

    const zero = new Float32Array(n);
    const a = trainerDelta(zero, base, { dp: { clipNorm: 2, noiseMultiplier: 0.25 } });
    const b = trainerDelta(zero, base, { dp: { clipNorm: 2, noiseMultiplier: 0.25 } });
    const mean = a.reduce((s, v) => s + v, 0) / n;
    const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
    assert.ok(Math.abs(std - 0.5) < 0.02, `std ${std} (expected 0.25 · 2)`);
    assert.notDeepEqual(a, b);
  });
});

describe("task spec privacy modes", () => {
  it("accepts DP and refuses secure aggregation, which the round protocol's screening cannot run on", () => {
    const ok = taskSpecSchema.parse({
      model: { kind: "mlp" },
      privacy: { dp: { clipNorm: 1, noiseMultiplier: 0.8 } },
    });
    assert.equal(ok.privacy.dp?.delta, 1e-5);
    const refused = taskSpecSchema.safeParse({
      model: { kind: "mlp" },
      privacy: { secureAggregation: true },
    });
    assert.equal(refused.success, false);
    assert.match(refused.error?.issues[0]?.message ?? "", /secure aggregation hides individual updates/);
    assert.deepEqual(refused.error?.issues[0]?.path, ["privacy"]);
    assert.equal(
      taskSpecSchema.safeParse({
        model: { kind: "mlp" },
        privacy: { dp: { clipNorm: -1, noiseMultiplier: 1 } },
      }).success,
      false,
    );
  });
});
