import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import {
  KeyError,
  createKeystore,
  createNodeKey,
  loadNodeKey,
  readPassword,
  unlockKeystore,
} from "./keys.ts";

describe("node keys", () => {
  it("round-trips an Ed25519 node key and refuses to overwrite it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vain-keys-"));
    const path = join(dir, "node.key");
    const created = await createNodeKey(path);
    assert.equal(created.key.type, "Ed25519");
    assert.equal((await loadNodeKey(path)).peerId, created.peerId);
    await assert.rejects(createNodeKey(path));
    writeFileSync(join(dir, "junk.key"), "junk");
    await assert.rejects(loadNodeKey(join(dir, "junk.key")), KeyError);
  });
  it("encrypts a keystore, unlocks it with the right password only", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vain-keys-"));
    const path = join(dir, "keystore.json");
    const { address } = await createKeystore(path, "correct horse", 1024);
    assert.equal((await unlockKeystore(path, "correct horse")).address, address);
    await assert.rejects(
      unlockKeystore(path, "wrong"),
      (e: unknown) => e instanceof KeyError && e.code === "KEYSTORE_LOCKED",
    );
  });
  it("reads the password from a file or the environment", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vain-keys-"));
    const file = join(dir, "pw");
    writeFileSync(file, "s3cret\nignored\n");
    assert.equal(await readPassword(file, {}), "s3cret");
    assert.equal(await readPassword(undefined, { VAIN_PASSWORD: "env" }), "env");
    await assert.rejects(
      readPassword(undefined, {}),
      (e: unknown) => e instanceof KeyError && e.code === "PASSWORD_MISSING",
    );
  });
});
