import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import { ARTIFACTS_DIR, ArtifactIntegrityError, loadProofArtifacts } from "./artifacts.ts";

describe("proof artifacts", () => {
  it("load when their hashes match the manifest", async () => {
    const artifacts = await loadProofArtifacts();
    assert.ok(artifacts.zkey.length > 1_000_000);
  });

  it("refuse a tampered zkey or a missing manifest", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vain-artifacts-"));
    await cp(ARTIFACTS_DIR, dir, { recursive: true });
    const zkey = await readFile(join(dir, "aggregate.zkey"));
    zkey[zkey.length - 1] = zkey[zkey.length - 1]! ^ 0xff;
    await writeFile(join(dir, "aggregate.zkey"), zkey);
    await assert.rejects(loadProofArtifacts(`${dir}/`), ArtifactIntegrityError);
    await rm(join(dir, "manifest.json"));
    await assert.rejects(loadProofArtifacts(`${dir}/`), /zk:setup/);
    await rm(dir, { recursive: true });
  });
});
