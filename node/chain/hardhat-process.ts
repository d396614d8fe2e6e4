/**
 * Starts a real `hardhat node` process on 127.0.0.1 for tests, spawned directly (not through npx, whose
 * wrapper would hold a different PID), and stops it by PID.
 */
import { existsSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { HARDHAT_STARTUP_TIMEOUT_MS, LOCAL_BLOCK_INTERVAL_MS } from "./constants.ts";
import { LocalChainPortInUseError, LocalChainUnavailableError } from "./errors.ts";
import { devRpc } from "./dev-rpc.ts";
import { spawnTied } from "../runtime/tied-spawn.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface HardhatNodeProcess {
  readonly rpcUrl: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** Spawns `hardhat node --port <port>` and resolves once it answers JSON-RPC. */
export async function startHardhatNode(port: number): Promise<HardhatNodeProcess> {
  const bin = `${ROOT}node_modules/.bin`;
  // The installed vain-node package has no Hardhat (a development tool of the repository): say so, in one
  // line, instead of a spawn error.
  if (!existsSync(`${bin}/hardhat`)) throw new LocalChainUnavailableError(bin);
  const rpcUrl = `http://127.0.0.1:${port}`;
  // A chain already on the port would answer the start-up poll below in place of ours (whose own start fails):
  // two runs then deployed onto one chain and failed on "nonce too low" (a CI run beside a helper's test run).
  if (await answersRpc(rpcUrl)) throw new LocalChainPortInUseError(port);
  // The chain-only config: no plugins, compiler or build info to load (hardhat.chain.config.ts says what it saves).
  const args = [
    "--config",
    `${ROOT}hardhat.chain.config.ts`,
    "node",
    "--hostname",
    "127.0.0.1",
    "--port",
    String(port),
  ];
  const child = spawnTied(`${bin}/hardhat`, args, {
    cwd: ROOT,
    env: { ...process.env, PATH: `${bin}:${process.env["PATH"] ?? ""}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + HARDHAT_STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited early:\n${output}`);
    if (await answersRpc(rpcUrl)) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (Date.now() >= deadline) {
    child.kill("SIGKILL");
    throw new Error(
      `hardhat node did not answer on ${rpcUrl} within ${HARDHAT_STARTUP_TIMEOUT_MS} ms:\n${output}`,
    );
  }
  // Interval mining besides automining, as `vain-node deploy` sets on local chains: the rounds' draws wait for a
  // seed block after their lock (docs/protocol.md §3), which a chain without traffic never makes.
  await devRpc(rpcUrl, "evm_setIntervalMining", [LOCAL_BLOCK_INTERVAL_MS]);
  return {
    rpcUrl,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
      }),
  };
}

/** Whether a JSON-RPC endpoint answers `eth_chainId` at `rpcUrl` now. */
async function answersRpc(rpcUrl: string): Promise<boolean> {
  try {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    return response.ok;
  } catch {
    return false; // not listening (yet)
  }
}

/** Runs a TypeScript entry point in a separate Node 22 process; resolves with its exit code and output. */
export function runNodeScript(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawnTied(process.execPath, [...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
