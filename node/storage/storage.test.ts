import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { z } from "zod";

import { writeFileAtomic } from "./atomic.ts";
import { StorageError } from "./errors.ts";
import { JsonStateFile } from "./json-state.ts";

let root: string;
let counter = 0;
const fresh = () => join(root, `case-${counter++}`);

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vain-storage-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("writeFileAtomic", () => {
  it("replaces a file and leaves no temp file behind", async () => {
    const dir = fresh();
    await mkdir(dir);
    const path = join(dir, "a.json");
    await writeFileAtomic(path, "one");
    await writeFileAtomic(path, "two", { mode: 0o600 });
    assert.equal(await readFile(path, "utf8"), "two");
    assert.deepEqual(await readdir(dir), ["a.json"]);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  it("fails cleanly when the directory does not exist", async () => {
    await assert.rejects(writeFileAtomic(join(fresh(), "missing", "x"), "x"), /ENOENT/);
  });
});

describe("JsonStateFile", () => {
  const schema = z.object({ round: z.number().int(), phase: z.enum(["training", "committed"]) });

  it("reads undefined before the first write and round-trips validated state", async () => {
    const dir = fresh();
    await mkdir(dir);
    const file = new JsonStateFile(join(dir, "round.json"), schema, { noSync: true });
    assert.equal(await file.read(), undefined);
    await file.write({ round: 3, phase: "training" });
    await file.update((s) => ({ round: s?.round ?? 0, phase: "committed" }));
    assert.deepEqual(await file.read(), { round: 3, phase: "committed" });
    assert.equal((await stat(file.path)).mode & 0o777, 0o600);
  });

  it("serialises concurrent updates", async () => {
    const dir = fresh();
    await mkdir(dir);
    const file = new JsonStateFile(join(dir, "counter.json"), schema, { noSync: true });
    await file.write({ round: 0, phase: "training" });
    await Promise.all(
      Array.from({ length: 20 }, () =>
        file.update((s) => ({ round: (s?.round ?? 0) + 1, phase: "training" })),
      ),
    );
    assert.equal((await file.read())?.round, 20);
  });

  it("raises STATE_INVALID on corrupt or schema-violating files and refuses invalid writes", async () => {
    const dir = fresh();
    await mkdir(dir);
    const path = join(dir, "s.json");
    const file = new JsonStateFile(path, schema, { noSync: true });
    await writeFile(path, "{ not json");
    await assert.rejects(
      file.read(),
      (e: unknown) => e instanceof StorageError && e.code === "STATE_INVALID",
    );
    await writeFile(path, JSON.stringify({ round: "x", phase: "training" }));
    await assert.rejects(file.read(), /round/);
    await assert.rejects(file.write({ round: 1.5, phase: "training" }), StorageError);
  });
});
