import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { spawnTied } from "./tied-spawn.ts";

const TIED_SPAWN = fileURLToPath(new URL("tied-spawn.ts", import.meta.url));
/** How long the kernel and setpriv get to act (exec the command, kill the orphan): generous for a loaded machine. */
const SETTLE_MS = 30_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return condition();
}

describe("spawnTied", { skip: process.platform !== "linux" && "pdeathsig is Linux's" }, () => {
  it("a tied child dies when its parent is SIGKILLed (no exit handler runs); the PID held is the child's", async () => {
    // The parent ties a 60 s sleep to itself, prints the sleep's PID, then waits to be killed. The parent is tied to
    // this test's process in turn, so a failed assertion below cannot leave it running (an orphan holding the test
    // runner's stderr pipe kept a whole CI run waiting until its 90-minute limit).
    const script = `
      const { spawnTied } = await import(${JSON.stringify(TIED_SPAWN)});
      const child = spawnTied("sleep", ["60"], { stdio: "ignore" });
      console.log(child.pid);
      setInterval(() => {}, 1000);`;
    const parent = spawnTied(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const pid = await new Promise<number>((resolve, reject) => {
        parent.stdout?.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
        parent.once("exit", () => reject(new Error("the parent exited before printing its child's PID")));
      });
      assert.ok(pid > 0 && alive(pid), "the tied child runs");
      // setpriv execs in place: the PID is the sleep's own, once setpriv has set the signal and exec'd (until
      // then its command line is setpriv's).
      assert.ok(
        await until(() => commandLine(pid).startsWith("sleep\0"), SETTLE_MS),
        `the tied child's command line is ${JSON.stringify(commandLine(pid))}, not the sleep's`,
      );

      parent.kill("SIGKILL");
      assert.ok(await until(() => !alive(pid), SETTLE_MS), "the tied child outlived its parent");
    } finally {
      parent.kill("SIGKILL");
    }
  });
});
