/**
 * bench:round's several-process network (`--scale-proven N --hosts K`): the driver's process runs the chain, the
 * deployment, the treasury (it creates, funds and opens every task's rounds) and the round drivers; K host
 * processes (round-host.ts) run the nodes, each a share of whole nodes (every participant of a node in one host).
 * The driver funds each host's account once; a host funds, stakes and binds its own operators and starts their
 * meshes; the driver then hands each host the other hosts' addresses to dial, and the tasks each node runs.
 *
 * The drivers (rounds.ts) read participant state as they do in one process, through `RemoteParticipant`s that
 * answer from the state their host last reported: every host is asked for it each SNAPSHOT_INTERVAL_MS, with the
 * rounds the drivers asked about so far. A reading is at most that old, which only delays a driver's clock move
 * by as much (drivers wait for work to be done, never for a time to pass).
 */
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

import type { Logger } from "pino";
import type { Account, Address, Chain, Hex, Transport, WalletClient } from "viem";
import { parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { HARDHAT_DEV_PRIVATE_KEY } from "../../node/chain/accounts.ts";
import { sendEther, transferTokens } from "../../node/chain/actions/index.ts";
import { connectChain } from "../../node/chain/clients.ts";
import { stakeRegistryAbi } from "../../node/chain/contracts.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { startHardhatNode } from "../../node/chain/hardhat-process.ts";
import type { HardhatNodeProcess } from "../../node/chain/hardhat-process.ts";
import { protocolAddresses } from "../../node/chain/operator.ts";
import type { DrivenNetwork, DrivenNode, DrivenParticipant } from "../../node/demo/driven.ts";
import { createDrivenTask } from "../../node/demo/driven-task.ts";
import { DRIVEN_RPC, operatorEtherWei } from "../../node/demo/network.ts";
import { sendAgain } from "../../node/demo/send-again.ts";
import { groth16VerifierChoice } from "../../node/proofs/deploy.ts";
import type { RoundOutcome, RoundProgress, TransferStats } from "../../node/protocol/round/context.ts";
import { emptyTransferStats } from "../../node/protocol/round/context.ts";
import type { TaskSpec } from "../../node/protocol/task-spec.ts";
import { loadMnist } from "../../node/training/data/mnist.ts";
import { TrainingPool } from "../../node/training/pool.ts";
import type {
  HostAnswer,
  HostCommand,
  HostReply,
  HostSnapshot,
  HostStart,
  HostedNodeInfo,
  ParticipantState,
} from "./round-host-protocol.ts";

const HOST = fileURLToPath(new URL("./round-host.ts", import.meta.url));
/** How often the driver asks each host for its participants' state (ms): a driver's reading is at most this old. */
const SNAPSHOT_INTERVAL_MS = 1_000;
/** How long a host gets to stop its nodes before it is killed (ms). */
const HOST_STOP_MS = 30_000;
/** Seed of the data split (network.ts's default: every process splits the same way). */
const DATA_SEED = 7;

type Wallet = WalletClient<Transport, Chain, Account>;

/** A participant state before its host first reported it: nothing done yet, so a driver waits. */
const NOT_YET: RoundProgress = {
  aggregating: false,
  answering: false,
  aggregateChecked: false,
  checkingAggregate: false,
  statementsChecked: 0,
};

/** One host process and its request/answer channel; its latest snapshot, refreshed on demand or on a timer. */
export class RoundHost {
  readonly child: ChildProcess;
  private seq = 0;
  private readonly waiting = new Map<number, (reply: HostReply) => void>();
  readonly ready: Promise<HostReply>;
  snapshot: HostSnapshot | undefined;
  private readonly states = new Map<string, ParticipantState>();

  constructor() {
    this.child = fork(HOST, [], {
      execPath: process.execPath,
      execArgv: process.execArgv,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    });
    this.ready = new Promise((resolve) => this.waiting.set(0, resolve));
    this.child.on("message", (message: HostAnswer) => {
      const resolve = this.waiting.get(message.seq);
      this.waiting.delete(message.seq);
      resolve?.(message.reply);
    });
    this.child.on("exit", (code, signal) => {
      for (const resolve of this.waiting.values())
        resolve({ type: "error", message: `host exited (${code ?? signal})` });
      this.waiting.clear();
    });
  }

  async call<T extends HostReply["type"]>(
    command: HostCommand,
    expect: T,
  ): Promise<Extract<HostReply, { type: T }>> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error("host has exited");
    const seq = ++this.seq;
    const reply = await new Promise<HostReply>((resolve) => {
      this.waiting.set(seq, resolve);
      this.child.send({ seq, command });
    });
    if (reply.type === "error") throw new Error(`host: ${reply.message}`);
    if (reply.type !== expect) throw new Error(`host answered ${reply.type}, expected ${expect}`);
    return reply as Extract<HostReply, { type: T }>;
  }

  /** Asks for the participants' state, with `watch`'s rounds per task. */
  async refresh(watch: ReadonlyMap<bigint, ReadonlySet<bigint>>): Promise<void> {
    const list = [...watch].map(([taskId, rounds]) => [taskId, [...rounds]] as const);
    const snapshot = await this.call({ type: "snapshot", watch: list }, "snapshot");
    this.snapshot = snapshot;
    for (const state of snapshot.participants) this.states.set(`${state.index}/${state.taskId}`, state);
  }

  state(index: number, taskId: bigint): ParticipantState | undefined {
    return this.states.get(`${index}/${taskId}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    const timer = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());
    await Promise.race([this.call({ type: "stop" }, "stopped").catch(() => undefined), timer(HOST_STOP_MS)]);
    await Promise.race([exited, timer(5_000)]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

/** A participant in a host, answering from the state its host last reported (and asking for a round it is asked). */
class RemoteParticipant implements DrivenParticipant {
  private readonly host: RoundHost;
  private readonly index: number;
  private readonly taskId: bigint;
  private readonly watch: (taskId: bigint, roundId: bigint) => void;

  constructor(
    host: RoundHost,
    index: number,
    taskId: bigint,
    watch: (taskId: bigint, roundId: bigint) => void,
  ) {
    this.host = host;
    this.index = index;
    this.taskId = taskId;
    this.watch = watch;
  }

  private round(roundId: bigint) {
    this.watch(this.taskId, roundId);
    return this.host.state(this.index, this.taskId)?.rounds.find((r) => r.roundId === roundId);
  }

  get running(): boolean {
    return this.host.state(this.index, this.taskId)?.running ?? true;
  }

  get stats(): TransferStats {
    return this.host.state(this.index, this.taskId)?.stats ?? emptyTransferStats();
  }

  progress(roundId: bigint): RoundProgress {
    return this.round(roundId)?.progress ?? NOT_YET;
  }

  outcome(roundId: bigint): RoundOutcome | undefined {
    return this.round(roundId)?.outcome;
  }

  async currentModel(): Promise<{ ref: Hex; params: Float32Array | undefined }> {
    const { ref, params } = await this.host.call(
      { type: "model", index: this.index, taskId: this.taskId },
      "model",
    );
    return { ref, params };
  }

  async ensureModel(ref: Hex, preferred?: Address): Promise<Float32Array | undefined> {
    const ensure = preferred === undefined ? { ref } : { ref, preferred };
    return (await this.host.call({ type: "model", index: this.index, taskId: this.taskId, ensure }, "model"))
      .params;
  }
}

export interface HostedNetworkOptions {
  readonly nodes: number;
  readonly hosts: number;
  readonly port: number;
  readonly spec: TaskSpec;
  readonly maxTrainersPerRound: number;
  readonly windowS: bigint;
  readonly aggregateWindowS: bigint;
  readonly answerWindowS: bigint;
  readonly disputeWindowS: bigint;
  readonly aggregateWaitMs: number;
  readonly pollIntervalMs: number;
  readonly meshEventPollingMs: number;
  readonly sharedReadsMs: number | undefined;
  readonly log: Logger;
}

/** The chain, the treasury and the nodes in K hosts; `view` is one task's network as a driver sees it. */
export interface HostedNetwork extends Omit<DrivenNetwork, "nodes"> {
  readonly chain: HardhatNodeProcess;
  readonly hosts: readonly RoundHost[];
  /** Every node's operator address, by index. */
  readonly addresses: readonly Address[];
  readonly parameterCount: number;
  /** Per node: its tasks from the root down; each host starts its nodes' participants of them. */
  runTasks(chains: ReadonlyMap<number, readonly bigint[]>): Promise<void>;
  /** Task `taskId`'s network: nodes `indices`, `trainers` of them committing (its participants must run). */
  view(taskId: bigint, indices: readonly number[], trainers: number): DrivenNetwork;
  /** Every host's state now (the figures at the end of a round). */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

/** Node indices 0..n-1 in `hosts` contiguous runs of near-equal length. */
export function hostShares(n: number, hosts: number): number[][] {
  return Array.from({ length: hosts }, (_, h) =>
    Array.from(
      { length: Math.floor(((h + 1) * n) / hosts) - Math.floor((h * n) / hosts) },
      (_, k) => Math.floor((h * n) / hosts) + k,
    ),
  );
}

/** Starts the chain and deployment here, the nodes in `hosts` processes, and the first task (as network.ts's). */
export async function startHostedNetwork(options: HostedNetworkOptions): Promise<HostedNetwork> {
  const chain = await startHardhatNode(options.port);
  const hosts: RoundHost[] = [];
  const pool = new TrainingPool({ size: 1 });
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = async () => {
    if (timer !== undefined) clearInterval(timer);
    await Promise.all(hosts.map((host) => host.stop()));
    await pool.close();
    await chain.stop();
  };
  try {
    const clients = await connectChain(
      chain.rpcUrl,
      privateKeyToAccount(HARDHAT_DEV_PRIVATE_KEY),
      DRIVEN_RPC,
    );
    const { publicClient } = clients;
    const treasury = clients.walletClient as Wallet;
    const deployment = await deployProtocol({
      publicClient,
      walletClient: treasury,
      verifier: await groth16VerifierChoice({ chained: true }),
      roundParams: { maxTrainersPerRound: options.maxTrainersPerRound },
    });
    const contracts = protocolAddresses(deployment);
    const minStake = await publicClient.readContract({
      address: contracts.registry,
      abi: stakeRegistryAbi,
      functionName: "minStake",
    });
    const treasuryCtx = { publicClient, walletClient: treasury, contracts };
    const shares = hostShares(options.nodes, options.hosts);
    for (const _ of shares) hosts.push(new RoundHost());
    await Promise.all(hosts.map((host) => host.ready));
    // Each host's account, funded once: each operator's ether and three minimum stakes, and 10 ETH for its own gas.
    const etherEach = operatorEtherWei(options.nodes);
    const starts = [];
    for (const [h, indices] of shares.entries()) {
      const funderKey = generatePrivateKey();
      const to = privateKeyToAccount(funderKey).address;
      const fromTreasury = (send: () => Promise<unknown>) =>
        sendAgain(publicClient, treasury.account.address, send, () => undefined);
      await fromTreasury(() =>
        sendEther(treasuryCtx, { to, amountWei: etherEach * BigInt(indices.length) + parseEther("10") }),
      );
      await fromTreasury(() =>
        transferTokens(treasuryCtx, { to, amountWei: minStake * 3n * BigInt(indices.length) }),
      );
      const start: HostStart = {
        rpcUrl: chain.rpcUrl,
        contracts,
        funderKey,
        minStake,
        operatorEtherWei: etherEach,
        spec: options.spec,
        dataSeed: DATA_SEED,
        trainers: options.nodes,
        indices,
        pollIntervalMs: options.pollIntervalMs,
        meshEventPollingMs: options.meshEventPollingMs,
        sharedReadsMs: options.sharedReadsMs,
        aggregateWaitMs: options.aggregateWaitMs,
        trainingThreads: 1,
        logLevel: options.log.level,
      };
      starts.push(hosts[h]!.call({ type: "start", ...start }, "started"));
    }
    const started = await Promise.all(starts);
    const infos: HostedNodeInfo[][] = started.map((s) => [...s.nodes]);
    // Each node dials one node of another host; then PEX and maintenance fill in the degree.
    await Promise.all(
      hosts.map((host, h) =>
        host.call(
          {
            type: "link",
            peers: infos
              .filter((_, o) => o !== h)
              .flat()
              .map((i) => i.multiaddr),
          },
          "linked",
        ),
      ),
    );
    const addresses = infos
      .flat()
      .sort((a, b) => a.index - b.index)
      .map((i) => i.address);
    const hostOf = shares.flatMap((indices, h) => indices.map(() => hosts[h]!));
    const { initialModelRef, parameterCount } = started[0]!;
    const reward = parseEther("100");
    const taskId = await createDrivenTask(treasuryCtx, {
      modelRef: initialModelRef,
      spec: options.spec,
      parameters: parameterCount,
      rewardPerRoundWei: reward,
      commitWindowS: options.windowS,
      aggregateWindowS: options.aggregateWindowS,
      challengeWindowS: options.windowS,
      answerWindowS: options.answerWindowS,
      disputeWindowS: options.disputeWindowS,
    });
    const { test } = loadMnist({ seed: DATA_SEED, testFraction: 0.2 });

    const watched = new Map<bigint, Set<bigint>>();
    const watch = (task: bigint, roundId: bigint) => {
      const rounds = watched.get(task) ?? new Set<bigint>();
      rounds.add(roundId);
      watched.set(task, rounds);
    };
    const refresh = () => Promise.all(hosts.map((host) => host.refresh(watched))).then(() => undefined);
    const proxies = new Map<string, DrivenNode>();
    const base = {
      chain,
      publicClient,
      treasury,
      contracts,
      spec: options.spec,
      test,
      pool,
      answerWindowS: options.answerWindowS,
    };
    let refreshing = false;
    return {
      ...base,
      taskId,
      trainers: options.nodes,
      hosts,
      addresses,
      parameterCount,
      runTasks: async (chains) => {
        await Promise.all(
          hosts.map((host, h) =>
            host.call(
              { type: "tasks", chains: shares[h]!.map((index) => [index, [...chains.get(index)!]] as const) },
              "running",
            ),
          ),
        );
        await refresh();
        // One refresh at a time: a host that answers slowly is not asked again before it answered.
        timer = setInterval(() => {
          if (refreshing) return;
          refreshing = true;
          void refresh()
            .catch((error: unknown) => options.log.warn({ err: error }, "bench: a host's snapshot failed"))
            .finally(() => (refreshing = false));
        }, SNAPSHOT_INTERVAL_MS);
      },
      view: (viewTask, indices, trainers) => ({
        ...base,
        taskId: viewTask,
        trainers,
        nodes: indices.map((index) => {
          const key = `${index}/${viewTask}`;
          let node = proxies.get(key);
          if (node === undefined) {
            node = {
              index,
              account: { address: addresses[index]! },
              participant: new RemoteParticipant(hostOf[index]!, index, viewTask, watch),
            };
            proxies.set(key, node);
          }
          return node;
        }),
      }),
      refresh,
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
