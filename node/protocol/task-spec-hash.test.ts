import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { canonicalJson, taskSpecHash } from "./task-spec-hash.ts";
import { taskSpecSchema } from "./task-spec.ts";

describe("task spec hash", () => {
  it("is the same for the same values, whatever the key order or omitted defaults", () => {
    const short = taskSpecSchema.parse({ model: { kind: "mlp" } });
    const spelled = taskSpecSchema.parse({
      server: { lr: 2, optimizer: "fedavg" },
      train: { learningRate: 0.1, epochs: 1 },
      model: { kind: "mlp" },
    });
    assert.equal(taskSpecHash(spelled), taskSpecHash(short));
    assert.equal(
      canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: undefined } }),
      '{"a":{"d":[2,{"e":0,"f":1}]},"b":1}',
    );
  });

  it("differs when any value differs", () => {
    const base = taskSpecHash(taskSpecSchema.parse({ model: { kind: "mlp" } }));
    for (const change of [
      { server: { optimizer: "fedavg", lr: 1 } },
      { train: { learningRate: 0.05 } },
      { compression: { ratio: 0.05 } },
      { initSeed: 2 },
      { rounds: { mode: "fedbuff" } },
    ])
      assert.notEqual(
        taskSpecHash(taskSpecSchema.parse({ model: { kind: "mlp" }, ...change })),
        base,
        JSON.stringify(change),
      );
  });
});
