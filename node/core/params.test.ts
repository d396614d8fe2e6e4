import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  ParamLayoutError,
  createLayout,
  sameLayout,
  tensorView,
  toParamVector,
  zerosLike,
} from "./params.ts";

describe("ParamLayout", () => {
  it("places tensors back to back", () => {
    const layout = createLayout([
      { name: "w", shape: [2, 3] },
      { name: "b", shape: [3] },
    ]);
    assert.equal(layout.size, 9);
    assert.deepEqual(
      layout.tensors.map((t) => [t.name, t.offset, t.size]),
      [
        ["w", 0, 6],
        ["b", 6, 3],
      ],
    );
  });

  it("views a tensor without copying", () => {
    const vector = zerosLike(
      createLayout([
        { name: "a", shape: [2] },
        { name: "b", shape: [2] },
      ]),
    );
    tensorView(vector, "b")[1] = 7;
    assert.equal(vector.values[3], 7);
  });

  it("rejects duplicates, bad shapes, wrong lengths and unknown names", () => {
    assert.throws(
      () =>
        createLayout([
          { name: "a", shape: [1] },
          { name: "a", shape: [1] },
        ]),
      ParamLayoutError,
    );
    assert.throws(() => createLayout([{ name: "a", shape: [0] }]), ParamLayoutError);
    const layout = createLayout([{ name: "a", shape: [2] }]);
    assert.throws(() => toParamVector(layout, new Float32Array(3)), ParamLayoutError);
    assert.throws(() => tensorView(zerosLike(layout), "z"), ParamLayoutError);
  });

  it("compares layouts", () => {
    const a = createLayout([{ name: "a", shape: [2, 2] }]);
    assert.ok(sameLayout(a, createLayout([{ name: "a", shape: [2, 2] }])));
    assert.ok(!sameLayout(a, createLayout([{ name: "a", shape: [4] }])));
  });
});
