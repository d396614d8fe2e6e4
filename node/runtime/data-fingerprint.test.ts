import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { nodeConfigSchema } from "../config/config.ts";
import { dataFingerprint } from "./data-fingerprint.ts";
import { loadNodeData } from "./node-data.ts";

describe("data fingerprint", () => {
  const config = (shard: number, shards: number) =>
    nodeConfigSchema.parse({ data: { kind: "mnist", shard, shards, seed: 3 } });

  it("is equal for two nodes given the same explicit shard and differs between shards", async () => {
    const a = dataFingerprint((await loadNodeData(config(1, 3))).train);
    const b = dataFingerprint((await loadNodeData(config(1, 3))).train);
    const c = dataFingerprint((await loadNodeData(config(2, 3))).train);
    const whole = dataFingerprint((await loadNodeData(config(0, 1))).train);
    assert.match(a, /^[0-9a-f]{16}$/);
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.notEqual(a, whole);
  });

  it("sees one changed label", async () => {
    const { train } = await loadNodeData(config(0, 4));
    const labels = Uint8Array.from(train.labels);
    labels[0] = (labels[0]! + 1) % train.classes;
    assert.notEqual(dataFingerprint(train), dataFingerprint({ ...train, labels }));
  });
});
