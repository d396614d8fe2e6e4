/**
 * A whole vAIn network on one machine: a `hardhat node` process, the deployed protocol with the real
 * Groth16 verifier, N staked operators whose nodes join a TCP mesh on 127.0.0.1, and a task training an
 * MLP on MNIST. Used by `vain-node demo`, the end-to-end test and `bench:round`.
 *
 * The chain only moves its clock when blocks are mined, so the network's clock is advanced explicitly once
 * the work a phase waits for is done (the deadlines still bind: nothing is accepted after them).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import pino from "pino";
import type { Logger } from "pino";
import type { Account, Address, Chain, LocalAccount, PublicClient, Transport, WalletClient } from "viem";
import { parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { HARDHAT_DEV_PRIVATE_KEY } from "../chain/accounts.ts";
import { connectChain } from "../chain/clients.ts";
import { stakeRegistryAbi, trainingRoundsAbi } from "../chain/contracts.ts";
import { deployProtocol } from "../chain/deploy.ts";
import { protocolAddresses } from "../chain/operator.ts";
import { bindPeerId, sendEther, setAggregatorOptIn, stake, transferTokens } from "../chain/actions/index.ts";
import type { Deployment } from "../chain/deployment.ts";
import { startHardhatNode } from "../chain/hardhat-process.ts";
import type { HardhatNodeProcess } from "../chain/hardhat-process.ts";
import { Mesh } from "../p2p/mesh.ts";
import { LOCAL_SIMULATION_PROFILE } from "../p2p/profiles.ts";
import { interceptRequests, sharedReads } from "../chain/shared-reads.ts";
import { createDrivenTask } from "./driven-task.ts";
import { sendAgain } from "./send-again.ts";
import { groth16VerifierChoice } from "../proofs/deploy.ts";
import type { AdversarialBehaviour } from "../adversary/index.ts";
import { PROOF_TRAINERS } from "../proofs/constants.ts";
import { RoundParticipant } from "../protocol/round/index.ts";
import type { ParticipantOptions } from "../protocol/round/context.ts";
import { taskSpecSchema } from "../protocol/task-spec.ts";
import type { TaskSpec, TaskSpecInput } from "../protocol/task-spec.ts";
import type { Dataset } from "../training/data/dataset.ts";
import { loadMnist } from "../training/data/mnist.ts";
import { loadWordnetTask } from "../training/data/wordnet.ts";

/** Glosses per WordNet topic in a transformer demo: ~2,900 rows, a round of local training in seconds. */
const DEMO_GLOSSES_PER_TOPIC = 40;
/** Seed of a demo network's data split unless told otherwise (every demo test's thresholds were set on it). */
const DEMO_DATA_SEED = 7;
import { partition } from "../training/data/partition.ts";
import { TrainingPool } from "../training/pool.ts";
export { advanceChainTime, advancePast, waitFor } from "./network-time.ts";
import { RoundStore } from "../protocol/round-store.ts";

type Wallet = WalletClient<Transport, Chain, Account>;

/**
 * The commit, challenge and answer windows of a driven network's task (chain seconds). The local chain mines a
 * block a second, so its clock runs in real time between the driver's jumps, and at load 20 on 2 cores 30 s
 * windows (the contract's minimum) were too short for honest work: trainers planned a few local steps for the
 * commit window and were rejected as free riders, watchers recomputed a posted aggregate after its challenge
 * window (a corrupted chunk went unchallenged), and against a 30 s answer window every node sat out
 * (proving-budget.ts: a proof took 50 s). The driver moves the clock past each deadline itself (rounds.ts), so
 * long windows cost no wall time.
 */
export const DRIVEN_WINDOW_S = 600n;
/**
 * The aggregate window of a driven network's task (chain seconds), shorter: a trainer that commits and withholds
 * below the quorum keeps an honest aggregator waiting until the deadline margin, in real time (the attack
 * tests' withholding round). 90 s still gives an aggregation at load 20 about 75 s before it posts.
 */
export const DRIVEN_AGGREGATE_WINDOW_S = 90n;

/** A group task's participant: its parent, and where the partials it leads go (docs/protocol.md §7). */
export type TaskRoles = Pick<ParticipantOptions, "parentTaskId" | "onPartial">;

export interface DemoNode {
  readonly index: number;
  readonly account: LocalAccount;
  readonly wallet: Wallet;
  readonly mesh: Mesh;
  readonly participant: RoundParticipant;
  readonly behaviour: AdversarialBehaviour;
  /**
   * A participant of another task on this node's mesh, wallet and data (not started): a node running two tasks,
   * e.g. a group task and its parent (docs/protocol.md §7); `group-network.ts`.
   */
  readonly participantFor: (taskId: bigint, roles?: TaskRoles) => RoundParticipant;
  /** The node's data directory, with `stores`. */
  readonly dataDir?: string;
}

export interface NetworkOptions {
  readonly nodes: number;
  readonly port: number;
  readonly spec?: Partial<TaskSpecInput>;
  /** Node indices with adversarial behaviour. */
  readonly behaviours?: Readonly<Record<number, AdversarialBehaviour>>;
  readonly log?: Logger;
  readonly rewardPerRound?: bigint;
  /**
   * Nodes that train (the first ones); the rest validate and serve. Default: all, at most `maxTrainersPerRound`
   * (8). A count above the cap leaves the last committers to the full round's eviction draw.
   */
  readonly trainers?: number;
  readonly pollIntervalMs?: number;
  /**
   * How often each node's mesh polls the StakeRegistry's events (ms, default 500). Every node polls the one local
   * chain process: at 128 nodes every 500 ms that process fell a minute behind (bench:round, 2026-12-06).
   */
  readonly meshEventPollingMs?: number;
  /**
   * One chain view for all nodes (node/chain/shared-reads.ts): identical reads within this many ms are asked of
   * the chain once (default: each node asks its own). For 64 nodes and more, whose polls of the one chain
   * process are the same calls on the same block (#21).
   */
  readonly sharedReadsMs?: number;
  /** The rounds contract's per-round trainer cap (default 8, the circuit's fan-in; the contract allows 16). */
  readonly maxTrainersPerRound?: number;
  /** Chain seconds of every round window (default DRIVEN_WINDOW_S; DRIVEN_AGGREGATE_WINDOW_S to aggregate). */
  readonly windowS?: bigint;
  /** The task's aggregate window alone (chain seconds; default as `windowS` says). */
  readonly aggregateWindowS?: bigint;
  /**
   * Milliseconds added before each chain read of node `index`, asked per read (0: none): a node behind an
   * overloaded machine or RPC endpoint, whose round ticks take seconds. Its transactions are not delayed.
   */
  readonly rpcDelayMs?: (index: number) => number;
  /** How long aggregators wait for missing inputs (default 15 s). */
  readonly aggregateWaitMs?: number;
  /** Chain seconds an aggregator has to answer a challenge (default DRIVEN_WINDOW_S). */
  readonly answerWindowS?: bigint;
  /**
   * The initial weights of a spec that names them by content hash (an imported ONNX model), held by node 0 only:
   * the others fetch them from it by that hash, as from the importing operator's node.
   */
  readonly initialModel?: Float32Array;
  /** Chain seconds an answered statement stays disputable (default DRIVEN_WINDOW_S: the driver moves past it). */
  readonly disputeWindowS?: bigint;
  /**
   * Deploy the chained-proof verifier too: a proven task's round of more than 8 trainers is then proven link by
   * link (docs/protocol.md §5 "Chained links"), and the task is proven at any size.
   */
  readonly chained?: boolean;
  /**
   * Slow nodes, by index: each of the node's training runs returns only once its gate resolves (a device that
   * trains slower than the rounds go; the test decides when, so it waits on events, not on wall time).
   */
  readonly trainingGates?: Readonly<Record<number, () => Promise<void>>>;
  /**
   * Give every node a data directory (a temporary one, removed at stop) for its round store, as `vain-node
   * start` does: models, received updates and the task's aggregate history survive in it and are served.
   */
  readonly stores?: boolean;
  /** Seed of the data split: which rows are held out for testing and which shard each trainer gets (default 7). */
  readonly dataSeed?: number;
  /** Per node index: how long its transactions' receipts are waited for (ms; default viem's 180 s). */
  readonly receiptTimeoutMs?: Readonly<Record<number, number>>;
}

export interface LocalVainNetwork {
  readonly chain: HardhatNodeProcess;
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly treasury: Wallet;
  readonly deployment: Deployment;
  readonly contracts: { readonly token: Address; readonly registry: Address; readonly rounds: Address };
  readonly taskId: bigint;
  readonly spec: TaskSpec;
  readonly nodes: readonly DemoNode[];
  readonly pool: TrainingPool;
  readonly test: Dataset;
  /** How many nodes commit updates each round. */
  readonly trainers: number;
  /** The task's answer window (chain seconds). */
  readonly answerWindowS: bigint;
  /**
   * A new operator joins the running task: funded, staked, bound, its node connected and started with nothing
   * held. It validates and serves (it does not train: the trainer set is fixed at start). Resolves once it runs.
   */
  join(behaviour?: AdversarialBehaviour): Promise<DemoNode>;
  stop(): Promise<void>;
}

/** A client of the same chain whose every request waits `delayMs()` first (a node behind a slow endpoint). */
function delayedReads(
  client: PublicClient<Transport, Chain>,
  delayMs: () => number,
): PublicClient<Transport, Chain> {
  return interceptRequests(client, async (method, params) => {
    const ms = delayMs();
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    return client.request({ method, params } as Parameters<typeof client.request>[0]);
  });
}

/** `pool`'s training, each run held until `gate` resolves (a slow node), or `pool` itself. */
function gated(pool: TrainingPool, gate: (() => Promise<void>) | undefined): Pick<TrainingPool, "train"> {
  if (gate === undefined) return pool;
  return {
    train: async (job, options) => {
      const result = await pool.train(job, options);
      await gate();
      return result;
    },
  };
}

/**
 * The driver's and its nodes' RPC patience: the chain is a local process that is slow, not gone, when the test
 * machine is loaded (a 10 s timeout ended a 12-round bench:round at round 5 with "request took too long").
 */
export const DRIVEN_RPC = { timeoutMs: 60_000, retryCount: 3 } as const;

/**
 * Formation dials in flight at once, and tries per node. At 128 nodes in one process (bench:round --scale 128,
 * load 12-15) all 127 dials at once left one Noise handshake past Mesh.connect's 15 s deadline and the whole
 * network failed (docs/scaling.md); 16 at a time is what a 16-node network always did in one go. Six tries: with
 * three, one node's three handshakes all timed out at 128 nodes, load 10 (2026-12-06 04:40, 2.4 min into setup).
 */
const FORMATION_DIAL_BATCH = 16;
const FORMATION_DIAL_ATTEMPTS = 6;

/**
 * Connects `node` to a random earlier node, another one on each failed try (FORMATION_DIAL_ATTEMPTS); the last
 * failure is returned, not thrown: a node left out of the formation tree is dialed by the mesh's maintenance and
 * PEX like any peer (at 512 nodes, load ~27, one node's six handshakes all timed out and the throw ended the
 * whole setup after 10 minutes, 2026-12-06 20:30).
 */
async function dialEarlier(node: DemoNode, nodes: readonly DemoNode[]): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    const target = nodes[Math.floor(Math.random() * node.index)]!;
    try {
      await node.mesh.connect(target.mesh.multiaddrs()[0]!);
      return undefined;
    } catch (error) {
      if (attempt >= FORMATION_DIAL_ATTEMPTS) return error;
    }
  }
}

/**
 * Ether the treasury gives each operator for gas: 10 ETH, less above 900 nodes, where 10 each would exceed the
 * dev account's 10,000 ETH (the 1,000-node bench row ran out funding its last operators, 2026-12-07). An operator
 * spends well under 1 ETH on a long run's gas at the local chain's ~1 gwei.
 */
export function operatorEtherWei(nodes: number): bigint {
  return parseEther("10") < OPERATOR_ETHER_POOL_WEI / BigInt(Math.max(1, nodes))
    ? parseEther("10")
    : OPERATOR_ETHER_POOL_WEI / BigInt(Math.max(1, nodes));
}
/** Of the dev account's 10,000 ETH, what operators may be given in all (the rest: deployment, tasks, rounds). */
const OPERATOR_ETHER_POOL_WEI = parseEther("9000");

/** Starts chain, contracts, operators and nodes. */
export async function startLocalVainNetwork(options: NetworkOptions): Promise<LocalVainNetwork> {
  // VAIN_TEST_LOG=info shows the nodes' logs on stderr when a network test fails.
  const log = options.log ?? pino({ level: process.env["VAIN_TEST_LOG"] ?? "silent" }, pino.destination(2));
  // By default as many trainers as a round holds; an explicit count may exceed the cap (a full round's eviction
  // draw, round-full-resend.test.ts).
  const trainers = Math.min(options.trainers ?? options.maxTrainersPerRound ?? 8, options.nodes);
  const asked = taskSpecSchema.parse({ model: { kind: "mlp" }, ...options.spec });
  // Without chained proofs a proven task's round holds at most the circuit's fan-in, and only flat rounds are
  // proven: demo networks with larger or hierarchical rounds run an unproven task. The nodes' spec says so too,
  // since a node refuses a task whose proof mode is not its spec's (spec-check.ts).
  const provable =
    options.chained === true || (trainers <= PROOF_TRAINERS && asked.aggregation.maxFanIn >= trainers);
  const spec =
    asked.aggregation.proven && !provable
      ? taskSpecSchema.parse({
          model: { kind: "mlp" },
          ...options.spec,
          aggregation: { ...options.spec?.aggregation, proven: false },
        })
      : asked;
  const chain = await startHardhatNode(options.port);
  const cleanup: Array<() => Promise<void>> = [() => chain.stop()];
  try {
    const clients = await connectChain(
      chain.rpcUrl,
      privateKeyToAccount(HARDHAT_DEV_PRIVATE_KEY),
      DRIVEN_RPC,
    );
    const publicClient = clients.publicClient;
    const treasury = clients.walletClient as Wallet;
    const deployment = await deployProtocol({
      publicClient,
      walletClient: treasury,
      verifier: await groth16VerifierChoice({ chained: options.chained === true }),
      roundParams: { maxTrainersPerRound: options.maxTrainersPerRound ?? 8 },
    });
    const contracts = protocolAddresses(deployment);
    const minStake = await publicClient.readContract({
      address: contracts.registry,
      abi: stakeRegistryAbi,
      functionName: "minStake",
    });
    // A transformer task trains on WordNet glosses, each node holding whole topics (non-IID, #23).
    const text = spec.model.kind === "transformer" ? spec.model : undefined;
    const dataSeed = options.dataSeed ?? DEMO_DATA_SEED;
    const { train, test } = text
      ? loadWordnetTask({ context: text.context, maxGlossesPerTopic: DEMO_GLOSSES_PER_TOPIC, seed: dataSeed })
      : loadMnist({ seed: dataSeed, testFraction: 0.2 });
    const shards = partition(train, trainers, text ? { kind: "group" } : { kind: "iid" }, dataSeed);
    const pool = new TrainingPool({ size: 2 });
    cleanup.push(async () => pool.close());

    // The nodes' chain reads: their own each, or one shared view (the driver keeps its own client either way).
    const shared =
      options.sharedReadsMs === undefined ? undefined : sharedReads(publicClient, options.sharedReadsMs);
    const nodeReads = shared?.client ?? publicClient;
    const nodes: DemoNode[] = [];
    /** One operator: funded, staked with a permit, its peer ID bound, its node's mesh started (not its rounds). */
    const addNode = async (index: number, behaviour: AdversarialBehaviour): Promise<DemoNode> => {
      const account = privateKeyToAccount(generatePrivateKey());
      const funder = { publicClient, walletClient: treasury, contracts };
      // Each setup transaction sent again if its HTTP request failed before the chain had it (send-again.ts).
      const fromTreasury = (send: () => Promise<unknown>) =>
        sendAgain(publicClient, treasury.account.address, send, () => undefined);
      await fromTreasury(() =>
        sendEther(funder, { to: account.address, amountWei: operatorEtherWei(options.nodes) }),
      );
      await fromTreasury(() => transferTokens(funder, { to: account.address, amountWei: minStake * 3n }));
      const wallet = (await connectChain(chain.rpcUrl, account, DRIVEN_RPC)).walletClient as Wallet;
      const key = await generateKeyPair("Ed25519");
      // The operator's own path: one permit signature to stake, then bind the node's peer ID.
      const operatorCtx = { publicClient, walletClient: wallet, contracts };
      const fromOperator = (send: () => Promise<unknown>) =>
        sendAgain(publicClient, account.address, send, () => undefined);
      await fromOperator(() => stake(operatorCtx, { amountWei: minStake * 2n }));
      await fromOperator(() => bindPeerId(operatorCtx, { peerId: peerIdFromPrivateKey(key).toString() }));
      const mesh = new Mesh({
        privateKey: key,
        operator: account.address,
        chain: { client: nodeReads, chainId: clients.chain.id, stakeRegistry: contracts.registry },
        listen: ["/ip4/127.0.0.1/tcp/0"],
        // No DHT: the aggregator announces its addresses on gossip, which is cheaper for hundreds of nodes here.
        profile: {
          ...LOCAL_SIMULATION_PROFILE,
          services: { ...LOCAL_SIMULATION_PROFILE.services, dht: false },
        },
        eventPollingIntervalMs: options.meshEventPollingMs ?? 500,
      });
      await mesh.start();
      cleanup.push(() => mesh.stop());
      const dataDir =
        options.stores === true ? await mkdtemp(join(tmpdir(), `vain-node${index}-`)) : undefined;
      if (dataDir !== undefined) cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
      const delayMs = options.rpcDelayMs;
      const participantFor = (taskId: bigint, roles: TaskRoles = {}): RoundParticipant => {
        const first = taskId === 1n;
        const participant = new RoundParticipant({
          mesh,
          publicClient: delayMs === undefined ? nodeReads : delayedReads(nodeReads, () => delayMs(index)),
          wallet,
          contracts,
          taskId,
          ...roles,
          spec,
          data: shards[index % trainers]!,
          train: index < trainers,
          pollIntervalMs: options.pollIntervalMs ?? 300,
          pool: gated(pool, options.trainingGates?.[index]),
          log: log.child(first ? { node: index } : { node: index, task: taskId.toString() }),
          behaviour,
          aggregateWaitMs: options.aggregateWaitMs ?? 15_000,
          store:
            dataDir === undefined
              ? undefined
              : new RoundStore(first ? dataDir : join(dataDir, `task-${taskId}`)),
          receiptTimeoutMs: options.receiptTimeoutMs?.[index],
        });
        // The first task's participant is stopped with the nodes; another task's before its node's mesh.
        if (!first) cleanup.push(() => participant.stop());
        return participant;
      };
      const participant = participantFor(1n);
      return { index, account, wallet, mesh, behaviour, participant, participantFor, dataDir };
    };
    for (let index = 0; index < options.nodes; index++) {
      nodes.push(await addNode(index, options.behaviours?.[index] ?? {}));
      if (index === 0 && options.initialModel !== undefined)
        nodes[0]!.participant.models.put(options.initialModel);
    }
    // Every node dials one earlier node (a random tree), then PEX and maintenance fill in the degree.
    for (let start = 1; start < nodes.length; start += FORMATION_DIAL_BATCH) {
      const batch = nodes.slice(start, start + FORMATION_DIAL_BATCH);
      const failures = await Promise.all(batch.map((node) => dialEarlier(node, nodes)));
      for (const [i, error] of failures.entries())
        if (error !== undefined)
          log.warn(
            { err: error, node: batch[i]!.index },
            "formation dials failed; the mesh's maintenance dials it",
          );
    }
    await Promise.all(nodes.map((node) => node.mesh.maintain()));

    const modelRef = nodes[0]!.participant.initialModelRef;
    const reward = options.rewardPerRound ?? parseEther("100");
    const answerWindowS = options.answerWindowS ?? DRIVEN_WINDOW_S;
    await createDrivenTask(
      { publicClient, walletClient: treasury, contracts },
      {
        modelRef,
        spec,
        parameters: nodes[0]!.participant.parameterCount,
        rewardPerRoundWei: reward,
        commitWindowS: options.windowS ?? DRIVEN_WINDOW_S,
        aggregateWindowS: options.aggregateWindowS ?? options.windowS ?? DRIVEN_AGGREGATE_WINDOW_S,
        challengeWindowS: options.windowS ?? DRIVEN_WINDOW_S,
        answerWindowS,
        disputeWindowS: options.disputeWindowS ?? DRIVEN_WINDOW_S,
      },
    );
    for (const node of nodes) node.participant.start();
    return {
      chain,
      publicClient,
      treasury,
      deployment,
      contracts,
      taskId: 1n,
      spec,
      nodes,
      pool,
      test,
      trainers,
      answerWindowS,
      join: async (behaviour = {}) => {
        const node = await addNode(nodes.length, behaviour);
        nodes.push(node);
        await dialEarlier(node, nodes);
        await node.mesh.maintain();
        node.participant.start();
        return node;
      },
      stop: async () => {
        for (const node of nodes) await node.participant.stop();
        for (const step of cleanup.reverse()) await step().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    throw error;
  }
}

/** Sets which operators are aggregator candidates (the chain picks among them, stake-weighted). */
/**
 * Sends with a node's account while the node itself may send from it (it claims its credits after each round,
 * round/claims.ts): a nonce its transaction took is retried with the next one (the robust helper saw "Nonce too
 * low" from setAggregators at load), up to 5 attempts; any other error is thrown at once.
 */
export async function sendBesideNode<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      const nonceRace = /nonce/i.test(
        error instanceof Error ? `${error.message} ${String(error.cause)}` : "",
      );
      if (!nonceRace || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

/** Makes the nodes at `indices` the aggregator candidates of task `taskId` (the network's first task by default). */
export async function setAggregators(
  net: LocalVainNetwork,
  indices: readonly number[],
  taskId = 1n,
): Promise<void> {
  for (const node of net.nodes) {
    const wanted = indices.includes(node.index);
    const current = (
      await net.publicClient.readContract({
        address: net.contracts.rounds,
        abi: trainingRoundsAbi,
        functionName: "aggregatorCandidates",
        args: [taskId],
      })
    ).some((a) => a.toLowerCase() === node.account.address.toLowerCase());
    if (current === wanted) continue;
    await sendBesideNode(() =>
      setAggregatorOptIn(
        { publicClient: net.publicClient, walletClient: node.wallet, contracts: net.contracts },
        { taskId, optIn: wanted },
      ),
    );
  }
}
