/**
 * `vain-node demo --model transformer` as an operator runs it: the real binary in its own process, which starts
 * a hardhat chain, deploys, stakes 3 nodes on 127.0.0.1 and runs one round of the WordNet next-character task
 * (the transformer trained by every node, a sign-flipping trainer, a zk-provable aggregate). Small through the
 * demo's own options only (`--nodes 3 --rounds 1`); nothing in the demo knows it is under test.
 *
 * The CLI runs as its own process group, so a cancelled or failed test ends it and the chain it started.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { spawnTied } from "../runtime/tied-spawn.ts";

/** The chain's port: unused by every other test (grep 187xx/188xx before changing it). */
const CHAIN_PORT = 18_871;
/** A bound for a broken run only (the run itself is awaited by its exit): one round took ~60 s at load 8. */
const RUN_TIMEOUT_MS = 170_000;
/** How long the demo gets to stop its nodes and chain after SIGTERM before its group is killed. */
const STOP_GRACE_MS = 15_000;

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface DemoJson {
  readonly heldOut: string;
  readonly reports: readonly {
    readonly state: string;
    readonly accuracy: number;
    readonly loss: number;
    readonly bytesSent: number;
    readonly proven: boolean;
    readonly included: number;
    readonly rejected: readonly string[];
  }[];
  readonly nodes: readonly { readonly index: number; readonly operator: string; readonly role: string }[];
}

/** Ends the CLI's process group: SIGTERM (the demo stops its network), then SIGKILL after a grace period. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group is already gone.
    }
  };
  signalGroup("SIGTERM");
  const timer = setTimeout(() => signalGroup("SIGKILL"), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
  signalGroup("SIGKILL"); // a chain left behind by a demo that exited early
}

describe("vain-node demo --model transformer", { timeout: RUN_TIMEOUT_MS + STOP_GRACE_MS + 10_000 }, () => {
  let child: ChildProcess | undefined;

  after(async () => {
    if (child !== undefined) await stopGroup(child);
  });

  it("runs a round of the WordNet task on 3 nodes: finalized, proven, the poisoner rejected", async (t) => {
    const cli = spawnTied(
      process.execPath,
      [
        "node/bin/vain-node.js",
        "demo",
        "--model",
        "transformer",
        "--nodes",
        "3",
        "--rounds",
        "1",
        "--cheat-round",
        "0",
        "--port",
        String(CHAIN_PORT),
        "--no-ui",
        "--json",
      ],
      { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    child = cli;
    // A cancelled run may never reach `after`: never leave the demo or its chain holding the port.
    process.once("exit", () => {
      try {
        process.kill(-cli.pid!, "SIGKILL");
      } catch {
        // The group is already gone.
      }
    });
    let stdout = "";
    let stderr = "";
    cli.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    cli.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`demo still running after ${RUN_TIMEOUT_MS} ms:\n${stderr}`)),
        RUN_TIMEOUT_MS,
      );
      cli.once("exit", (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    assert.equal(code, 0, stderr);

    const result = JSON.parse(stdout) as DemoJson;
    assert.match(result.heldOut, /WordNet/);
    assert.equal(result.reports.length, 1);
    const [round] = result.reports;
    assert.equal(round!.state, "finalized");
    assert.equal(round!.proven, true, "every update arrived and the aggregate is provable");
    assert.ok(round!.bytesSent > 0);
    // The poisoner (the last node, sign-flip) is screened out; the two honest trainers make the model.
    const poisoner = result.nodes.find((n) => n.role.startsWith("poisoner"))!;
    assert.deepEqual(
      round!.rejected.map((a) => a.toLowerCase()),
      [poisoner.operator.toLowerCase()],
    );
    // One round of one local epoch on ~1,900 rows: far above the 1-in-64 guess, and a finite loss.
    assert.ok(round!.accuracy > 0.1, `next-character accuracy ${round!.accuracy}`);
    assert.ok(Number.isFinite(round!.loss));
    t.diagnostic(`accuracy ${round!.accuracy}, loss ${round!.loss}, ${round!.bytesSent} bytes sent`);
  });
});
