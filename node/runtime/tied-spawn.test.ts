import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

const TIED_SPAWN = fileURLToPath(new URL("tied-spawn.ts", import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("spawnTied", { skip: process.platform !== "linux" && "pdeathsig is Linux's" }, () => {
  it("a tied child dies when its parent is SIGKILLed (no exit handler runs); the PID held is the child's", async () => {
    // The parent ties a 60 s sleep to itself, prints the sleep's PID, then waits to be killed.
    const script = `
      const { spawnTied } = await import(${JSON.stringify(TIED_SPAWN)});
      const child = spawnTied("sleep", ["60"], { stdio: "ignore" });
      console.log(child.pid);
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      parent.once("exit", () => reject(new Error("the parent exited before printing its child's PID")));
    });
    assert.ok(pid > 0 && alive(pid), "the tied child runs");
    // setpriv execs in place: the PID is the sleep's own (its command line says so).
    assert.match(readFileSync(`/proc/${pid}/cmdline`, "utf8"), /^sleep\0/);

    parent.kill("SIGKILL");
    const deadline = Date.now() + 30_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(alive(pid), false, "the tied child outlived its parent");
  });
});
