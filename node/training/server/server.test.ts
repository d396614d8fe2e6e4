/** The server-optimizer registry: one entry per optimizer, each creating what its name says. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { SERVER_OPTIMIZERS, SERVER_OPTIMIZER_NAMES, createServerOptimizer } from "./index.ts";

describe("server optimizer registry", () => {
  it("creates every registered optimizer, fresh each time, and steps towards a positive update", () => {
    assert.equal(new Set(SERVER_OPTIMIZER_NAMES).size, SERVER_OPTIMIZERS.length);
    for (const descriptor of SERVER_OPTIMIZERS) {
      assert.ok(descriptor.citation.length > 0);
      const optimizer = createServerOptimizer(descriptor.name);
      assert.equal(optimizer.name, descriptor.name);
      assert.notEqual(
        createServerOptimizer(descriptor.name),
        optimizer,
        "stateful optimizers are not shared",
      );
      const next = optimizer.step(new Float32Array(4), Float32Array.of(1, 1, 1, 1));
      assert.ok(
        next.every((x) => x > 0),
        `${descriptor.name} moves along the update`,
      );
    }
  });
});
