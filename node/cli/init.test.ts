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
});
