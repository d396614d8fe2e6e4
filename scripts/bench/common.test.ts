/** The benchmarks' one argument parser. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { BenchArgumentError, flag, isQuick, numberListOption, numberOption, option } from "./common.ts";

describe("bench argument parser", () => {
  const argv = [
    "node",
    "bench.ts",
    "--quick",
    "--nodes",
    "8,32",
    "--rounds=5",
    "--by=function",
    "--no-baseline",
  ];

  it("reads --name=value, --name value and switches", () => {
    assert.equal(option("by", argv), "function");
    assert.equal(option("nodes", argv), "8,32");
    assert.equal(option("missing", argv), undefined);
    assert.equal(option("quick", argv), undefined, "a switch followed by an option has no value");
    assert.equal(flag("no-baseline", argv), true);
    assert.equal(isQuick(argv), true);
    assert.equal(isQuick(["node", "bench.ts"]), false);
  });

  it("parses numbers and lists, with a typed error for bad ones", () => {
    assert.equal(numberOption("rounds", 1, argv), 5);
    assert.equal(numberOption("missing", 7, argv), 7);
    assert.deepEqual(numberListOption("nodes", [1], argv), [8, 32]);
    assert.deepEqual(numberListOption("missing", [1], argv), [1]);
    assert.throws(() => numberOption("by", 0, argv), BenchArgumentError);
    assert.throws(() => numberListOption("by", [], argv), /comma-separated numbers/);
  });
});
