import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import { unlockKeystore } from "../keys/keys.ts";
import { EXIT_OK, EXIT_USER_ERROR, main } from "./main.ts";

describe("vain-node init", () => {
  it("creates keys and config, and refuses to run twice", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "vain-init-")), "data");
    process.env["VAIN_PASSWORD"] = "test-password";
    try {
      assert.equal(await main(["node", "vain-node", "init", "--data-dir", dir, "--json"]), EXIT_OK);
      for (const f of ["node.key", "keystore.json", "config.json", "CONFIG.txt"])
        assert.ok(existsSync(join(dir, f)), f);
      const wallet = await unlockKeystore(join(dir, "keystore.json"), "test-password");
      assert.match(wallet.address, /^0x[0-9a-fA-F]{40}$/);
      const keyBefore = readFileSync(join(dir, "node.key"));
      assert.equal(await main(["node", "vain-node", "init", "--data-dir", dir]), EXIT_USER_ERROR);
      assert.deepEqual(readFileSync(join(dir, "node.key")), keyBefore);
    } finally {
      delete process.env["VAIN_PASSWORD"];
    }
  });

  it("writes a data shard with --shard/--shards and refuses a shard out of range before writing anything", async () => {
    const base = mkdtempSync(join(tmpdir(), "vain-init-"));
    process.env["VAIN_PASSWORD"] = "test-password";
    try {
      const dir = join(base, "node2");
      assert.equal(
        await main([
          "node",
          "vain-node",
          "init",
          "--data-dir",
          dir,
          "--shard",
          "1",
          "--shards",
          "3",
          "--json",
        ]),
        EXIT_OK,
      );
      const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
      assert.deepEqual(config["data"], { kind: "mnist", shard: 1, shards: 3 });
      const bad = join(base, "bad");
      assert.equal(
        await main(["node", "vain-node", "init", "--data-dir", bad, "--shard", "3", "--shards", "3"]),
        EXIT_USER_ERROR,
      );
      assert.equal(existsSync(bad), false, "a refused init leaves nothing behind");
    } finally {
      delete process.env["VAIN_PASSWORD"];
    }
  });
});
