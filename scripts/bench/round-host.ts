/**
 * One host process of bench:round's several-process rows (round-hosts.ts): runs a set of whole nodes against the
 * driver's chain and answers the driver over IPC (round-host-protocol.ts). A host funds, stakes and binds its own
 * operators from the one account the driver funded for it, starts their meshes (a random tree inside the host,
 * then one dial from each node to another host's node), and runs every task participant of its nodes, so a
 * node's partials pass from its leaf participant to its middle and root ones in memory, as in one process.
 * What a host buys: its own event loop, heap, commitment pool and training threads for its share of the nodes.
 *
 * The host ends when the driver's channel closes (the driver stopped, was killed, or its test was cancelled): its
 * nodes are stopped and the process exits, so no host outlives its driver.
 */
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import pino from "pino";
import type { Account, Chain, Transport, WalletClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { bindPeerId, sendEther, stake, transferTokens } from "../../node/chain/actions/index.ts";
import { connectChain } from "../../node/chain/clients.ts";
import { sharedReads } from "../../node/chain/shared-reads.ts";
import { DRIVEN_RPC } from "../../node/demo/network.ts";
import { sendAgain } from "../../node/demo/send-again.ts";
import { Mesh } from "../../node/p2p/mesh.ts";
import { LOCAL_SIMULATION_PROFILE } from "../../node/p2p/profiles.ts";
import { RoundParticipant } from "../../node/protocol/round/index.ts";
import { loadMnist } from "../../node/training/data/mnist.ts";
import { partition } from "../../node/training/data/partition.ts";
import { TrainingPool } from "../../node/training/pool.ts";
import type {
  HostAnswer,
  HostCommand,
  HostMessage,
  HostReply,
  HostStart,
  HostedNodeInfo,
  ParticipantState,
} from "./round-host-protocol.ts";

type Wallet = WalletClient<Transport, Chain, Account>;

/** Formation dials in flight at once, and tries per dial (as network.ts: 16 at a time, six tries). */
const DIAL_BATCH = 16;
const DIAL_ATTEMPTS = 6;

interface HostedNode {
  readonly index: number;
  readonly mesh: Mesh;
  readonly wallet: Wallet;
  readonly make: (taskId: bigint, roles: HandOff) => RoundParticipant;
}

interface HandOff {
  readonly parentTaskId?: bigint;
  readonly onPartial?: (parentRoundId: bigint, bytes: Uint8Array) => void;
}

const nodes: HostedNode[] = [];
const participants: { readonly index: number; readonly taskId: bigint; readonly p: RoundParticipant }[] = [];
let pool: TrainingPool | undefined;
let peakConnections = 0;
let stopping: Promise<void> | undefined;

/** Dials `target()` until one dial succeeds or DIAL_ATTEMPTS failed; true when connected. */
async function dialSome(mesh: Mesh, target: () => string): Promise<boolean> {
  for (let attempt = 1; attempt <= DIAL_ATTEMPTS; attempt++) {
    try {
      await mesh.connect(target());
      return true;
    } catch {
      // another target on the next try: a handshake that timed out at load is not a refusal
    }
  }
  return false;
}

/** In batches of DIAL_BATCH: how many of `items` failed. */
async function inBatches<T>(items: readonly T[], dial: (item: T) => Promise<boolean>): Promise<number> {
  let failed = 0;
  for (let start = 0; start < items.length; start += DIAL_BATCH) {
    const results = await Promise.all(items.slice(start, start + DIAL_BATCH).map(dial));
    failed += results.filter((ok) => !ok).length;
  }
  return failed;
}

async function start(options: HostStart): Promise<HostReply> {
  const log = pino({ level: options.logLevel }, pino.destination(2));
  const funderAccount = privateKeyToAccount(options.funderKey);
  const funder = await connectChain(options.rpcUrl, funderAccount, DRIVEN_RPC);
  const { publicClient } = funder;
  const contracts = options.contracts;
  const funderCtx = { publicClient, walletClient: funder.walletClient as Wallet, contracts };
  const shared =
    options.sharedReadsMs === undefined ? undefined : sharedReads(publicClient, options.sharedReadsMs);
  const nodeReads = shared?.client ?? publicClient;
  const { train } = loadMnist({ seed: options.dataSeed, testFraction: 0.2 });
  const shards = partition(train, options.trainers, { kind: "iid" }, options.dataSeed);
  pool = new TrainingPool({ size: options.trainingThreads });
  const trainingPool = pool;
  const infos: HostedNodeInfo[] = [];
  for (const index of options.indices) {
    // The operator's path, as network.ts: funded by the host's account, a permit to stake, its peer ID bound.
    const account = privateKeyToAccount(generatePrivateKey());
    const fromFunder = (send: () => Promise<unknown>) =>
      sendAgain(publicClient, funderAccount.address, send, () => undefined);
    await fromFunder(() =>
      sendEther(funderCtx, { to: account.address, amountWei: options.operatorEtherWei }),
    );
    await fromFunder(() =>
      transferTokens(funderCtx, { to: account.address, amountWei: options.minStake * 3n }),
    );
    const wallet = (await connectChain(options.rpcUrl, account, DRIVEN_RPC)).walletClient as Wallet;
    const key = await generateKeyPair("Ed25519");
    const operatorCtx = { publicClient, walletClient: wallet, contracts };
    const fromOperator = (send: () => Promise<unknown>) =>
      sendAgain(publicClient, account.address, send, () => undefined);
    await fromOperator(() => stake(operatorCtx, { amountWei: options.minStake * 2n }));
    const peerId = peerIdFromPrivateKey(key).toString();
    await fromOperator(() => bindPeerId(operatorCtx, { peerId }));
    const mesh = new Mesh({
      privateKey: key,
      operator: account.address,
      chain: { client: nodeReads, chainId: funder.chain.id, stakeRegistry: contracts.registry },
      listen: ["/ip4/127.0.0.1/tcp/0"],
      // No DHT, as network.ts: the aggregators announce their addresses on gossip.
      profile: {
        ...LOCAL_SIMULATION_PROFILE,
        services: { ...LOCAL_SIMULATION_PROFILE.services, dht: false },
      },
      eventPollingIntervalMs: options.meshEventPollingMs,
    });
    await mesh.start();
    const make = (taskId: bigint, roles: HandOff): RoundParticipant =>
      new RoundParticipant({
        mesh,
        publicClient: nodeReads,
        wallet,
        contracts,
        taskId,
        ...roles,
        spec: options.spec,
        data: shards[index % options.trainers]!,
        train: index < options.trainers,
        pollIntervalMs: options.pollIntervalMs,
        pool: trainingPool,
        log: log.child({ node: index, task: taskId.toString() }),
        aggregateWaitMs: options.aggregateWaitMs,
      });
    nodes.push({ index, mesh, wallet, make });
    const address = mesh.multiaddrs()[0]!.toString();
    infos.push({
      index,
      address: account.address,
      multiaddr: address.includes("/p2p/") ? address : `${address}/p2p/${peerId}`,
    });
  }
  // A random tree inside the host: each node dials an earlier one (the first dials nobody yet).
  const failed = await inBatches(nodes.slice(1), (node) => {
    const k = nodes.indexOf(node);
    return dialSome(node.mesh, () => infos[Math.floor(Math.random() * k)]!.multiaddr);
  });
  if (failed > 0) log.warn({ failed }, "host: formation dials failed; the meshes' maintenance dials them");
  // The spec's initial model (a task's first modelRef): any participant derives it; this one never starts.
  const first = nodes[0]!.make(1n, {});
  return {
    type: "started",
    nodes: infos,
    initialModelRef: first.initialModelRef,
    parameterCount: first.parameterCount,
  };
}

async function handle(command: HostCommand): Promise<HostReply> {
  switch (command.type) {
    case "start":
      return start(command);
    case "link": {
      const failed = await inBatches(nodes, (node) =>
        dialSome(node.mesh, () => command.peers[Math.floor(Math.random() * command.peers.length)]!),
      );
      await Promise.all(nodes.map((node) => node.mesh.maintain()));
      return { type: "linked", failed };
    }
    case "tasks": {
      for (const [index, chain] of command.chains) {
        const node = nodes.find((n) => n.index === index);
        if (node === undefined) throw new Error(`host runs no node ${index}`);
        // From the root down: each participant hands the partials it leads to the one above it.
        let above: { readonly taskId: bigint; readonly p: RoundParticipant } | undefined;
        for (const taskId of chain) {
          const parent = above;
          const p = node.make(
            taskId,
            parent === undefined
              ? {}
              : {
                  parentTaskId: parent.taskId,
                  onPartial: (r, bytes) => void parent.p.adoptPartial(r, bytes),
                },
          );
          participants.push({ index, taskId, p });
          above = { taskId, p };
        }
      }
      for (const { p } of participants) p.start();
      return { type: "running" };
    }
    case "snapshot": {
      const watched = new Map(command.watch.map(([taskId, rounds]) => [taskId, rounds]));
      const states: ParticipantState[] = participants.map(({ index, taskId, p }) => ({
        index,
        taskId,
        running: p.running,
        stats: { ...p.stats },
        rounds: (watched.get(taskId) ?? []).map((roundId) => ({
          roundId,
          progress: p.progress(roundId),
          outcome: p.outcome(roundId),
        })),
      }));
      for (const node of nodes)
        peakConnections = Math.max(peakConnections, node.mesh.libp2p.getConnections().length);
      const cpu = process.cpuUsage();
      return {
        type: "snapshot",
        participants: states,
        cpuMicros: cpu.user + cpu.system,
        maxRssKb: process.resourceUsage().maxRSS,
        peakConnections,
      };
    }
    case "model": {
      const entry = participants.find((e) => e.index === command.index && e.taskId === command.taskId);
      if (entry === undefined) throw new Error(`host runs no participant ${command.index}/${command.taskId}`);
      if (command.ensure !== undefined) {
        const params = await entry.p.ensureModel(command.ensure.ref, command.ensure.preferred);
        return { type: "model", ref: command.ensure.ref, params };
      }
      const { ref, params } = await entry.p.currentModel();
      return { type: "model", ref, params };
    }
    case "stop":
      await stop();
      return { type: "stopped" };
  }
}

/** Stops every participant, then every mesh and the training threads (once, whoever asks first). */
function stop(): Promise<void> {
  stopping ??= (async () => {
    for (const { p } of participants) await p.stop().catch(() => undefined);
    for (const node of nodes) await node.mesh.stop().catch(() => undefined);
    await pool?.close();
  })();
  return stopping;
}

const send = (answer: HostAnswer): void => void process.send?.(answer);

process.on("message", (message: HostMessage) => {
  handle(message.command).then(
    (reply) => {
      send({ seq: message.seq, reply });
      if (reply.type === "stopped") process.disconnect();
    },
    (error: unknown) =>
      send({
        seq: message.seq,
        reply: {
          type: "error",
          message: error instanceof Error ? (error.stack ?? error.message) : String(error),
        },
      }),
  );
});
// The driver is gone (stopped, killed, or its test cancelled): stop the nodes and exit; a stop that hangs is cut.
process.on("disconnect", () => {
  setTimeout(() => process.exit(0), 20_000).unref();
  void stop().finally(() => process.exit(0));
});
send({ seq: 0, reply: { type: "ready" } });
