/**
 * A node started while its chain endpoint is unreachable waits for it: a real `vain-node start` process behind a
 * TCP proxy that refuses connections (the soak's RPC outage), a real hardhat chain behind it. The process stays
 * up, says why in one log line, serves `/ready` 503 with the CHAIN_UNREACHABLE alert, and runs once the endpoint
 * answers. Stopped while it waits, it exits 0.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { generatePrivateKey } from "viem/accounts";

import { RpcProxy } from "../../scripts/bench/soak/rpc-proxy.ts";
import { startLocalNetwork } from "../../scripts/support/local-network.ts";
import type { LocalNetwork } from "../../scripts/support/local-network.ts";
import { writeDeployment } from "../chain/deployment.ts";
import { createNodeKey } from "../keys/keys.ts";
import { spawnTied } from "./tied-spawn.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHAIN_PORT = 18643;
const API_PORT = 18644;

interface Started {
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
}

function launch(dataDir: string): Started {
  const child = spawnTied(
    join(ROOT, "node_modules/.bin/node"),
    [join(ROOT, "node/bin/vain-node.js"), "start", "--data-dir", dataDir],
    {
      cwd: ROOT,
      env: { ...process.env, VAIN_PRIVATE_KEY: generatePrivateKey(), FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const started: Started = {
    child,
    output: "",
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
  };
  child.stdout?.on("data", (chunk: Buffer) => (started.output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (started.output += chunk.toString()));
  return started;
}

/** Polls `probe` until it returns a value (events on a loaded machine, not a guessed sleep). */
async function until<T>(
  what: string,
  node: Started,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const value = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (value !== undefined) return value;
    if (node.child.exitCode !== null)
      throw new Error(`node exited (${node.child.exitCode}) waiting for ${what}:\n${node.output}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${node.output.slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function ready(): Promise<{ status: number; body: { ready: boolean } }> {
  const res = await fetch(`http://127.0.0.1:${API_PORT}/ready`);
  return { status: res.status, body: (await res.json()) as { ready: boolean } };
}

describe("start-up during an RPC outage", { timeout: 480_000 }, () => {
  let net: LocalNetwork;
  let proxy: RpcProxy;
  let dir: string;
  const children: ChildProcess[] = [];

  async function nodeDir(name: string, rpcUrl: string, apiPort: number): Promise<string> {
    const dataDir = join(dir, name);
    await mkdir(dataDir, { recursive: true });
    await createNodeKey(join(dataDir, "node.key"));
    await writeFile(
      join(dataDir, "config.json"),
      JSON.stringify({
        rpcUrl,
        deployment: join(dir, "deployment.json"),
        profile: "local-simulation",
        listen: ["/ip4/127.0.0.1/tcp/0"],
        apiPort,
        aggregator: false,
        train: false,
        attestation: { enabled: false },
        logLevel: "info",
      }),
    );
    return dataDir;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "vain-chain-wait-"));
    net = await startLocalNetwork(CHAIN_PORT);
    await writeDeployment(join(dir, "deployment.json"), net.deployment);
    proxy = new RpcProxy(CHAIN_PORT);
    await proxy.start();
    await proxy.cut();
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await proxy?.stop();
    await net?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("waits not ready while the endpoint refuses, then runs once it answers", async () => {
    const node = launch(await nodeDir("waits", proxy.url, API_PORT));
    children.push(node.child);
    await until("the waiting line", node, () =>
      node.output.includes(`cannot reach the chain at ${proxy.url}: waiting for it`) ? true : undefined,
    );
    const waiting = await until("the status API while waiting", node, ready);
    assert.equal(waiting.status, 503);
    assert.equal(waiting.body.ready, false);
    const status = (await (await fetch(`http://127.0.0.1:${API_PORT}/api/status`)).json()) as {
      alerts?: { code: string }[];
    };
    assert.deepEqual(
      status.alerts?.map((a) => a.code),
      ["CHAIN_UNREACHABLE"],
    );
    // Later attempts are refused too (1 s, then 2 s apart; the log limiter prints the repeats once a minute):
    // the process stays up and not ready throughout.
    const since = Date.now();
    await until("4 s of refused attempts", node, async () =>
      (await ready()).status === 503 && Date.now() - since > 4_000 ? true : undefined,
    );
    assert.equal(node.child.exitCode, null);

    await proxy.restore();
    await until("node running", node, () =>
      node.output.includes('"msg":"node running"') ? true : undefined,
    );
    assert.match(node.output, /answers again: start-up goes on/);
    await until("/ready 200", node, async () => ((await ready()).status === 200 ? true : undefined));

    node.child.kill("SIGTERM");
    assert.equal(await node.exited, 0, node.output);
  });

  it("exits 0 when stopped while it waits", async () => {
    await proxy.cut();
    const node = launch(await nodeDir("stopped", proxy.url, 0));
    children.push(node.child);
    await until("the waiting line", node, () => (node.output.includes("waiting for it") ? true : undefined));
    node.child.kill("SIGINT");
    assert.equal(await node.exited, 0, node.output);
    assert.doesNotMatch(node.output, /node running/);
  });
});
