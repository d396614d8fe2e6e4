import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

import { longestFirst, testFiles } from "./node-suite.ts";

describe("node suite runner", () => {
  const root = mkdtempSync(join(tmpdir(), "vain-suite-"));
  after(() => rmSync(root, { recursive: true, force: true }));

  it("finds every test file under scripts/, node/ and web/, and none in dependencies or build output", () => {
    for (const file of [
      "node/a.test.ts",
      "node/deep/b.test.ts",
      "scripts/c.test.ts",
      "web/e2e/d.test.ts",
      "node/node_modules/x/e.test.ts",
      "node/dist/f.test.ts",
      "node/g.ts",
      "other/h.test.ts",
    ]) {
      mkdirSync(join(root, file, ".."), { recursive: true });
      writeFileSync(join(root, file), "");
    }
    assert.deepEqual(testFiles(root), [
      "node/a.test.ts",
      "node/deep/b.test.ts",
      "scripts/c.test.ts",
      "web/e2e/d.test.ts",
    ]);
  });

  it("starts the longest files first, a new file as a 10 s one, ties by path", () => {
    const files = ["a.test.ts", "b.test.ts", "c.test.ts", "d.test.ts", "e.test.ts"];
    assert.deepEqual(longestFirst(files, { "c.test.ts": 200, "a.test.ts": 2, "e.test.ts": 30 }), [
      "c.test.ts",
      "e.test.ts",
      "b.test.ts",
      "d.test.ts",
      "a.test.ts",
    ]);
  });

  it("orders this repository's longest recorded file first", () => {
    const [first] = longestFirst(testFiles(), { "scripts/test/node-suite.test.ts": 1e9 });
    assert.equal(first, "scripts/test/node-suite.test.ts");
  });
});
