/**
 * The soak's network, set up as an operator would (README walkthrough through the `vain-node` binary): a real
 * `hardhat node`, a TCP proxy in front of it that the nodes use as their RPC endpoint, then per node init (one
 * data shard each), fund, stake, bind, and one task with short windows so rounds are fast.
 * One node's data directory sits on its own small tmpfs (when this process may mount one) so the soak can fill
 * that disk for real: the node sees ENOSPC and statfs's free space exactly as on a full disk.
 */
import { execFile, spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import type { Address } from "viem";

import {
  DEFAULT_AGGREGATE_WINDOW_S,
  DEFAULT_ANSWER_WINDOW_S,
  DEFAULT_CHALLENGE_WINDOW_S,
  DEFAULT_COMMIT_WINDOW_S,
  DEFAULT_DISPUTE_WINDOW_S,
} from "../../../node/chain/constants.ts";
import { runNodeScript, startHardhatNode } from "../../../node/chain/hardhat-process.ts";
import type { HardhatNodeProcess } from "../../../node/chain/hardhat-process.ts";
import { readDeployment } from "../../../node/chain/deployment.ts";
import type { Deployment } from "../../../node/chain/deployment.ts";
import { freePort } from "../../../node/demo/demo.ts";
import { RpcProxy } from "./rpc-proxy.ts";
import { SoakNode } from "./node-process.ts";

const run = promisify(execFile);
const PASSWORD = "soak";
/** VAIN each operator stakes at set-up (twice the local minimum of 100: one 50% slash leaves it active). */
export const STAKE_VAIN = 200;
/** VAIN each operator is funded with at set-up beyond its stake: a reserve (bonds, the operator's top-ups). */
const RESERVE_VAIN = 300;
/**
 * VAIN each spared node (`--spare`) stakes: four times the others', so with 5 nodes the stake-weighted draw
 * among the candidates names a spared node in about half the rounds (800 of 800 + 4 x 200) and each other node
 * in about one in eight. Session 18's spared node aggregated no round until its 51st (the first node whose own
 * reputation reached the auto opt-in's 0.6 stays the only candidate until a fault takes it down, and the spared
 * node is never taken down), then every round: its RSS figure mixed 38 minutes without the aggregation path
 * with a one-time step at its first aggregation.
 */
export const SPARED_STAKE_VAIN = 800;
/**
 * The disk node's quota (`resources.maxDiskBytes`): small enough that the guard's retention runs within an hour
 * (the data directory grows about 410 KiB a round, one 407 KB model file each), so a long soak shows the bound
 * holding and every deletion logged. Without it the default (half the disk) is reached after ~300 rounds.
 */
export const DISK_NODE_QUOTA = "16MiB";
/** Size of the tmpfs under the disk-fault node (MiB): the node counts < 32 MiB free as full, 64 MiB as recovered. */
export const DISK_FAULT_TMPFS_MB = 256;

export interface WindowsSeconds {
  readonly commit: number;
  readonly aggregate: number;
  readonly challenge: number;
  readonly answer: number;
  readonly dispute: number;
}

/** The local defaults of `task create` (node/chain/constants.ts). */
export const DEFAULT_WINDOWS: WindowsSeconds = {
  commit: Number(DEFAULT_COMMIT_WINDOW_S),
  aggregate: Number(DEFAULT_AGGREGATE_WINDOW_S),
  challenge: Number(DEFAULT_CHALLENGE_WINDOW_S),
  answer: Number(DEFAULT_ANSWER_WINDOW_S),
  dispute: Number(DEFAULT_DISPUTE_WINDOW_S),
};

export interface NetworkOptions {
  readonly nodes: number;
  readonly chainPort: number;
  readonly windows: WindowsSeconds;
  /** Rounds the task's reward pool must pay for. */
  readonly rounds: number;
  /**
   * Create the task as a parent with this many group tasks (`task create --groups`): task 1 is the parent, the
   * nodes' configured task, and each node trains in its group (docs/protocol.md §7).
   */
  readonly groups?: number;
  /** Create the task with an empty reward pool: no round ever opens (a test of what a node does between rounds). */
  readonly unfunded?: boolean;
  /**
   * The first `spare` nodes stake SPARED_STAKE_VAIN and every node opts in to aggregation explicitly (config
   * `aggregator: true`, still withdrawn while it cannot act: disk full, model syncing, proofs too slow), so the
   * spared nodes aggregate from the first rounds while the others are drawn, and killed as aggregators, in some.
   * 0 (default): every node stakes STAKE_VAIN and opts in by `auto` (reputation), as a fresh network does.
   */
  readonly spare?: number;
  readonly log?: (line: string) => void;
}

export interface SoakNetwork {
  readonly dir: string;
  readonly chain: HardhatNodeProcess;
  readonly proxy: RpcProxy;
  readonly deployment: Deployment;
  readonly nodes: SoakNode[];
  /** The node whose data directory is on a tmpfs (undefined: mounting was not possible here). */
  readonly diskNode: SoakNode | undefined;
  readonly diskMount: string | undefined;
  /** Runs `vain-node <args>` as an operator would (the nodes' RPC endpoint, their keystores' password). */
  cli(args: readonly string[]): Promise<string>;
  /** Stops everything; the run directory (node logs) is deleted unless `keepDir`. */
  stop(keepDir?: boolean): Promise<void>;
}

async function mountTmpfs(path: string, megabytes: number): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  await mkdir(path, { recursive: true });
  return run("mount", ["-t", "tmpfs", "-o", `size=${megabytes}m,mode=0700`, "tmpfs", path]).then(
    () => true,
    () => false,
  );
}

/**
 * A detached shell that waits for this process to end, then SIGKILLs the chain and lazily unmounts the tmpfs:
 * the clean-up a SIGKILLed soak cannot do itself. `stop` ends it first on a normal stop (so it never acts on a
 * PID the system reused); `watchMount` restarts it to cover a mount made after it started.
 */
function startWatchdog(
  chainPid: number | undefined,
  mount: () => string | undefined,
): { stop(): void; watchMount(path: string): void } {
  let child: ChildProcess | undefined;
  const start = (): void => {
    const path = mount();
    const script =
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ` +
      (chainPid === undefined ? "" : `kill -9 ${chainPid} 2>/dev/null; `) +
      (path === undefined ? "" : `umount -l '${path.replaceAll("'", "")}' 2>/dev/null; `) +
      "exit 0";
    child = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
    child.unref();
  };
  const stop = (): void => {
    child?.kill("SIGKILL");
    child = undefined;
  };
  start();
  return {
    stop,
    watchMount: () => {
      stop();
      start();
    },
  };
}

export async function startNetwork(options: NetworkOptions): Promise<SoakNetwork> {
  const say = options.log ?? (() => undefined);
  const spare = options.spare ?? 0;
  const dir = await mkdtemp(join(tmpdir(), "vain-soak-"));
  const chain = await startHardhatNode(options.chainPort);
  const proxy = new RpcProxy(Number(new URL(chain.rpcUrl).port));
  await proxy.start();
  const deploymentFile = join(dir, "deployment.json");
  const env: Record<string, string> = {
    VAIN_RPC_URL: proxy.url,
    VAIN_DEPLOYMENT: deploymentFile,
    VAIN_PASSWORD: PASSWORD,
    VAIN_PRIVATE_KEY: "",
    VAIN_DATA_DIR: "",
  };
  const cli = async (args: readonly string[]): Promise<string> => {
    const result = await runNodeScript(["node/bin/vain-node.js", ...args], env);
    if (result.code !== 0)
      throw new Error(`vain-node ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  };
  const nodes: SoakNode[] = [];
  let diskMount: string | undefined;
  // A soak cut short (a test's timeout ends it without `stop`) must not leave processes or a mount behind.
  const onExit = (): void => {
    for (const node of nodes) node.child?.kill("SIGKILL");
    chain.process.kill("SIGKILL");
    if (diskMount !== undefined) spawnSync("umount", ["-l", diskMount]);
  };
  process.once("exit", onExit);
  // SIGKILL runs no exit handler: the nodes die with the soak (setpriv --pdeathsig), the chain and the mount
  // would not. A detached watchdog outlives the soak, then kills the chain and unmounts the tmpfs.
  const watchdog = startWatchdog(chain.process.pid, () => diskMount);
  const stop = async (keepDir = false): Promise<void> => {
    process.off("exit", onExit);
    watchdog.stop();
    await Promise.all(nodes.map((node) => node.stop()));
    for (const node of nodes) node.close();
    await proxy.stop();
    await chain.stop();
    if (diskMount !== undefined) await run("umount", ["-l", diskMount]).catch(() => undefined);
    if (!keepDir) await rm(dir, { recursive: true, force: true });
  };
  try {
    say(`deploying on ${chain.rpcUrl} (nodes use the proxy ${proxy.url})`);
    await cli(["deploy", "--rpc", chain.rpcUrl, "--out", deploymentFile]);
    // Set-up in parallel where nothing is shared (each node's own key and files): every CLI call is a process
    // start (~3 s at load), and one node after another took a minute for four. Funding is sequential: every
    // transfer comes from the deployer's one nonce sequence.
    const mount = join(dir, "disk");
    const planned = await Promise.all(
      Array.from({ length: options.nodes }, async (_, index) => {
        let dataDir = join(dir, `node${index}`);
        // The last node's disk is the one the soak fills: its data directory is one folder of a tmpfs, so the
        // filler file sits beside it (the node's quota guard counts only its own directory).
        if (index === options.nodes - 1 && (await mountTmpfs(mount, DISK_FAULT_TMPFS_MB))) {
          diskMount = mount;
          watchdog.watchMount(mount);
          dataDir = join(mount, `node${index}`);
        }
        const node = new SoakNode(index, dataDir, dir, env);
        node.stakeVain = index < spare ? SPARED_STAKE_VAIN : STAKE_VAIN;
        const init = JSON.parse(
          await cli([
            "init",
            "--data-dir",
            dataDir,
            "--shard",
            String(index),
            "--shards",
            String(options.nodes),
            "--json",
          ]),
        ) as { address: Address };
        node.address = init.address;
        // Each node's status API on a port of its own: the soak reads its `/metrics` (V8 heap, external memory)
        // beside its RSS. The port is in the config, so a restarted or wiped node serves on the same one.
        node.apiPort = await freePort();
        const file = join(dataDir, "config.json");
        const config = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
        await writeFile(
          file,
          `${JSON.stringify(
            {
              ...config,
              apiPort: node.apiPort,
              ...(spare > 0 ? { aggregator: true } : {}),
              ...(dataDir.startsWith(mount) ? { resources: { maxDiskBytes: DISK_NODE_QUOTA } } : {}),
            },
            null,
            2,
          )}\n`,
        );
        return node;
      }),
    );
    for (const node of planned) await cli(["fund", node.dataDir, String(node.stakeVain + RESERVE_VAIN)]);
    await Promise.all(
      planned.map(async (node) => {
        await cli(["stake", String(node.stakeVain), "--data-dir", node.dataDir]);
        await cli(["bind", "--data-dir", node.dataDir]);
      }),
    );
    for (const node of planned) {
      nodes.push(node);
      say(
        `node ${node.index}: ${node.address}, ${node.stakeVain} VAIN staked${node.index < spare ? " (spared)" : ""}${node.dataDir.startsWith(mount) ? ` (data on a tmpfs, quota ${DISK_NODE_QUOTA})` : ""}`,
      );
    }
    const { windows } = options;
    await cli([
      "task",
      "create",
      "--data-dir",
      nodes[0]!.dataDir,
      "--reward-per-round",
      "1",
      ...(options.unfunded === true ? [] : ["--fund", String(options.rounds * 2 + 20)]),
      "--commit-window",
      `${windows.commit}s`,
      "--aggregate-window",
      `${windows.aggregate}s`,
      "--challenge-window",
      `${windows.challenge}s`,
      "--answer-window",
      `${windows.answer}s`,
      "--dispute-window",
      `${windows.dispute}s`,
      ...(options.groups === undefined ? [] : ["--groups", String(options.groups)]),
    ]);
    const deployment = await readDeployment(deploymentFile);
    const [first, ...others] = nodes;
    const addresses = await first!.start([]);
    await Promise.all(others.map((node) => node.start(addresses)));
    say(`${nodes.length} nodes running`);
    return {
      dir,
      chain,
      proxy,
      deployment,
      nodes,
      diskNode: diskMount === undefined ? undefined : nodes.at(-1),
      diskMount,
      cli,
      stop,
    };
  } catch (error) {
    await stop(true);
    say(`set-up failed; logs kept in ${dir}`);
    throw error;
  }
}
