/**
 * `vain-node` runs with glibc's mmap threshold fixed (node/bin/vain-node.js): it re-executes itself once with
 * `MALLOC_MMAP_THRESHOLD_` set, in the same process, unless the operator set the variable or turned the tuning off.
 * A preloaded probe prints the variable and the PID at each start of the Node image, so the test sees both images.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("vain-node's malloc tuning", { skip: process.platform !== "linux" }, () => {
  let dir = "";
  let probe = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "vain-malloc-"));
    probe = join(dir, "probe.cjs");
    await writeFile(
      probe,
      'process.stderr.write(`probe ${process.pid} ${process.env.MALLOC_MMAP_THRESHOLD_ ?? "unset"}\\n`);\n',
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** The probe's lines (PID, variable) of one `vain-node --help`, under `env` without the two variables plus `set`. */
  const starts = async (set: Record<string, string>): Promise<string[][]> => {
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--require ${probe}` };
    delete env.MALLOC_MMAP_THRESHOLD_;
    delete env.VAIN_MALLOC_TUNING;
    const { stderr } = await run(
      join(ROOT, "node_modules/.bin/node"),
      [join(ROOT, "node/bin/vain-node.js"), "--help"],
      { cwd: ROOT, env: { ...env, ...set } },
    );
    return stderr
      .split("\n")
      .filter((line) => line.startsWith("probe "))
      .map((line) => line.split(" ").slice(1));
  };

  it("re-executes once, in the same process, with the threshold set", async () => {
    const seen = await starts({});
    assert.equal(seen.length, 2, JSON.stringify(seen));
    assert.equal(seen[0]![0], seen[1]![0], "same PID");
    assert.deepEqual(
      seen.map((s) => s[1]),
      ["unset", "131072"],
    );
  });

  it("keeps the operator's own setting, and starts once with VAIN_MALLOC_TUNING=0", async () => {
    assert.deepEqual(
      (await starts({ MALLOC_MMAP_THRESHOLD_: "65536" })).map((s) => s[1]),
      ["65536"],
    );
    assert.deepEqual(
      (await starts({ VAIN_MALLOC_TUNING: "0" })).map((s) => s[1]),
      ["unset"],
    );
  });
});
