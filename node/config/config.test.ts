import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import { configFromEnv, readConfigFile, resolveConfig } from "./config.ts";
import { parseDurationMs } from "./duration.ts";
import { ConfigError } from "./errors.ts";

describe("parseDurationMs", () => {
  it("parses every unit", () => {
    assert.equal(parseDurationMs("500ms"), 500);
    assert.equal(parseDurationMs("30s"), 30_000);
    assert.equal(parseDurationMs("1.5m"), 90_000);
    assert.equal(parseDurationMs("2h"), 7_200_000);
    assert.equal(parseDurationMs("1d"), 86_400_000);
  });
  it("rejects bare numbers and unknown units with a typed error", () => {
    for (const bad of ["30", "5 weeks", "", "-1s"]) {
      assert.throws(
        () => parseDurationMs(bad),
        (e: unknown) => e instanceof ConfigError && e.code === "DURATION_INVALID",
      );
    }
  });
});

describe("resolveConfig", () => {
  it("applies defaults < file < env < flags", () => {
    const config = resolveConfig({
      file: { rpcUrl: "http://127.0.0.1:1111", apiPort: 1, roundTimeoutMs: "10s" },
      env: configFromEnv({ VAIN_API_PORT: "2", VAIN_ROUND_TIMEOUT: "20s" }),
      flags: { apiPort: 3, logLevel: undefined },
    });
    assert.equal(config.rpcUrl, "http://127.0.0.1:1111");
    assert.equal(config.apiPort, 3);
    assert.equal(config.roundTimeoutMs, 20_000);
    assert.equal(config.logLevel, "info");
    assert.equal(config.dataDir, ".vain");
  });
  it("personalization: off by default, steps from the flag layer, refused when negative", () => {
    assert.equal(resolveConfig({}).personalization.steps, 0);
    const config = resolveConfig({
      file: { personalization: { learningRate: 0.05 } },
      flags: { personalization: { learningRate: 0.05, steps: 20 } },
    });
    assert.deepEqual(config.personalization, { steps: 20, learningRate: 0.05 });
    assert.throws(
      () => resolveConfig({ flags: { personalization: { steps: -1 } } }),
      (e: unknown) => e instanceof ConfigError && /personalization\.steps/.test(e.message),
    );
  });

  it("names the bad key in a one-line error", () => {
    assert.throws(
      () => resolveConfig({ file: { apiPort: 70_000 } }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.code === "CONFIG_INVALID" &&
        /apiPort/.test(e.message) &&
        !e.message.includes("\n"),
    );
    assert.throws(() => resolveConfig({ file: { bogus: 1 } }), ConfigError);
    assert.throws(() => resolveConfig({ env: configFromEnv({ VAIN_TRAIN_TIMEOUT: "soon" }) }), ConfigError);
  });
  it("reads a JSON file and reports unreadable ones", () => {
    const dir = mkdtempSync(join(tmpdir(), "vain-config-"));
    const good = join(dir, "good.json");
    writeFileSync(good, JSON.stringify({ logLevel: "debug" }));
    assert.equal(resolveConfig({ file: readConfigFile(good) }).logLevel, "debug");
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ not json");
    assert.throws(
      () => readConfigFile(bad),
      (e: unknown) => e instanceof ConfigError && e.code === "CONFIG_FILE_UNREADABLE",
    );
    assert.throws(() => readConfigFile(join(dir, "missing.json")), ConfigError);
  });
});
