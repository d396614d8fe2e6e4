/**
 * The node a person runs (`vain-node start`): keys from the data directory, the chain and its verified
 * deployment, the stake-gated mesh, the round protocol, crash-safe round state, reputation, resource
 * monitoring, Prometheus metrics and the status API (with the dashboard when asked). Start/stop lifecycle;
 * `stop()` leaves the mesh and flushes state.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { Logger } from "pino";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { BaseError } from "viem";
import type { Account, Address, Chain, PublicClient, Transport, WalletClient } from "viem";

import { ChainStatusSource } from "../api/chain-source.ts";
import { ensureDashboardBuilt } from "../api/dashboard.ts";
import { createStatusServer } from "../api/server.ts";
import type { StatusServer } from "../api/server.ts";
import type { NodeConfig } from "../config/config.ts";
import { registerAbuseMetrics } from "../p2p/abuse-report.ts";
import type { Mesh } from "../p2p/mesh.ts";
import type { AdversarialBehaviour } from "../adversary/index.ts";
import type { RoundParticipant } from "../protocol/round/index.ts";
import { nodeGroups } from "./node-groups.ts";
import type { NodeGroups } from "./node-groups.ts";
import { TaskParticipants } from "./task-participants.ts";
import { ResourceMonitor } from "../resources/monitor.ts";
import { feedAbuseToReputation, ReputationBook } from "../reputation/index.ts";
import { TrainingPool } from "../training/pool.ts";
import { PERSONAL_MODEL_FILE, Personalizer } from "../training/personalization.ts";
import { paramsToBytes } from "../protocol/models.ts";
import { taskSpecHash } from "../protocol/task-spec-hash.ts";
import { decideOptIn, OPT_IN_STAKE_CHECK_INTERVAL_MS, OptInKeeper } from "./aggregator-opt-in.ts";
import { CapacityManager } from "./capacity.ts";
import { publishPeerStatus } from "./peer-status.ts";
import { ChainResetWatch } from "./chain-watch.ts";
import { connectWhenReachable, waitForChain } from "./chain-wait.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { loadNodeData } from "./node-data.ts";
import { startNodeMesh } from "./node-mesh.ts";
import type { DataDirLock } from "./data-dir-lock.ts";
import { EventLog } from "./event-log.ts";
import { HistoryFile } from "./history-file.ts";
import { ownOutcomeFolder } from "./own-outcome.ts";
import { RoundHistoryRecorder } from "./round-history.ts";
import { roundEventsToReputation } from "./round-reputation.ts";
import { checkOperator } from "./operator-checks.ts";
import { dataFingerprint } from "./data-fingerprint.ts";
import { DiskQuotaGuard } from "./disk-quota.ts";
import { hostInfo, runtimeSettings } from "./limits.ts";
import type { RuntimeSettings } from "./limits.ts";
import type { CapacitySource } from "../scheduling/capacity-book.ts";
import { protocolAddresses } from "../chain/operator.ts";
import { ProvingRemeasure } from "./proving-remeasure.ts";

export const NODE_VERSION = "0.1.0";

export interface VainNodeOptions {
  readonly config: NodeConfig;
  readonly nodeKey: PrivateKey;
  readonly account: Account;
  readonly log: Logger;
  /** Demo and tests only: adversarial behaviour (no CLI flag reaches it). */
  readonly behaviour?: AdversarialBehaviour;
  /**
   * The group epoch's draw moved this node to another group task and it holds no duty on its old one: stop it and
   * run a new node with the same options (`vain-node start` does; group-regroup.ts). Without it the node logs the
   * move and stays in its old group, whose rounds its group gate then skips.
   */
  readonly onRegroup?: () => void;
}

type Wallet = WalletClient<Transport, Chain, Account>;

const lower = (address: Address): `0x${string}` => address.toLowerCase() as `0x${string}`;

export class VainNode {
  private readonly options: VainNodeOptions;
  readonly metrics = new Registry();
  private mesh: Mesh | undefined;
  private participants: TaskParticipants | undefined;
  private groups: NodeGroups | undefined;
  /** The participant of the task the node trains (`participants.main`). */
  private participant: RoundParticipant | undefined;
  private status: ChainStatusSource | undefined;
  private server: StatusServer | undefined;
  private pool: TrainingPool | undefined;
  private monitor: ResourceMonitor | undefined;
  private reputation: ReputationBook | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private capacity: CapacityManager | undefined;
  private settings: RuntimeSettings | undefined;
  private optIn: OptInKeeper | undefined;
  private provingRemeasure: ProvingRemeasure | undefined;
  private diskQuota: DiskQuotaGuard | undefined;
  private lock: DataDirLock | undefined;
  private chainWatch: ChainResetWatch | undefined;
  /** Aborts the start-up wait for the chain when the node is stopped meanwhile. */
  private connecting: AbortController | undefined;
  private roundHistory: RoundHistoryRecorder | undefined;
  private eventLog: EventLog | undefined;
  /** Why the node does not take part in rounds right now (chain reset, disk full); empty: it does. */
  private readonly paused = new Map<string, string>();
  apiUrl: string | undefined;

  constructor(options: VainNodeOptions) {
    this.options = options;
  }

  get peerId(): string {
    if (this.mesh === undefined) throw new Error("node is not started");
    return this.mesh.peerId.toString();
  }

  /** Peers' attested capacity and our own speed, for the round protocol (node/scheduling/capacity-book.ts). */
  get capacitySource(): CapacitySource | undefined {
    return this.capacity;
  }

  multiaddrs(): string[] {
    return this.mesh?.multiaddrs().map((m) => m.toString()) ?? [];
  }

  async start(): Promise<void> {
    const { config, log } = this.options;
    // First: a second node on this directory must refuse before it touches keys, peers or round state.
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    this.lock = await lockDataDir(config.dataDir);
    if (this.lock.tookOverFrom !== undefined) {
      log.warn(
        { previousPid: this.lock.tookOverFrom.pid, lock: this.lock.path },
        "took over the data directory lock of a node that is no longer running",
      );
    }
    collectDefaultMetrics({ register: this.metrics, prefix: "vain_process_" });
    this.connecting = new AbortController();
    const { clients, deployment, path } = await connectWhenReachable({
      config,
      account: this.options.account,
      peerId: peerIdFromPrivateKey(this.options.nodeKey).toString(),
      version: NODE_VERSION,
      log,
      signal: this.connecting.signal,
    });
    const publicClient = clients.publicClient;
    const wallet = clients.walletClient as Wallet;
    log.info({ chainId: clients.chain.id, deployment: path }, "chain and deployment verified");
    const contracts = protocolAddresses(deployment);

    // Operator limits: threads, batch cap, connection cap, upload budget, disk quota, low-power profile.
    const settings = runtimeSettings(config, await hostInfo(config.dataDir));
    this.settings = settings;
    log.info({ limits: settings.limits }, "resource limits");
    const mesh = await startNodeMesh(
      {
        privateKey: this.options.nodeKey,
        operator: this.options.account.address,
        chain: {
          client: publicClient,
          chainId: clients.chain.id,
          stakeRegistry: contracts.registry,
          deploymentBlock: BigInt(deployment.deploymentBlock),
        },
        listen: config.listen,
        bootstrap: config.bootstrap,
        profile: settings.meshProfile,
        uploadBytesPerSec: settings.limits.bandwidthBytesPerSec,
        attestation: {
          claimedSamplesPerSec: () => this.capacity?.ownSamplesPerSec(),
          isBusy: () => this.capacity?.busy() ?? true,
          claimOf: (peerId) => this.capacity?.capacityOf(peerId)?.claimedSamplesPerSec,
        },
        // Reputation decides who keeps a connection slot when the node is full or above its degree.
        peerRank: (operator) => this.reputation?.score(lower(operator)) ?? 0.5,
      },
      log,
    );
    this.mesh = mesh;
    log.info({ peerId: mesh.peerId.toString(), addresses: this.multiaddrs() }, "mesh started");
    const data = await loadNodeData(config);
    this.pool = new TrainingPool({ size: settings.trainingThreads });
    this.reputation = await ReputationBook.open({ file: join(config.dataDir, "reputation.json") });
    // Protocol violations on the mesh are evidence against the peer's operator (docs/protocol.md §6).
    feedAbuseToReputation(mesh.abuse, this.reputation);
    registerAbuseMetrics(this.metrics, mesh);
    // The operator's personalized model: fine-tuned from each new global model, kept in the data directory only.
    const personalizer = new Personalizer({
      pool: this.pool,
      model: settings.task.model,
      train: settings.task.train,
      data: data.train,
      settings: config.personalization,
      log: log.child({ component: "personalization" }),
      onReady: (model) => writeFile(join(config.dataDir, PERSONAL_MODEL_FILE), paramsToBytes(model.params)),
    });
    // A parent task's rounds take only its groups' partials: this operator trains in the group this epoch's seed
    // drew for it (§7), the seed drawn here if nobody has; a later epoch's draw may move it (`onRegroup`).
    const groups = await nodeGroups({
      client: { publicClient, contracts },
      draw: { publicClient, walletClient: wallet, contracts },
      operator: this.options.account.address,
      configuredTaskId: BigInt(config.taskId),
      fromBlock: BigInt(deployment.deploymentBlock),
      log: log.child({ component: "groups" }),
      onRegroup: () => this.options.onRegroup?.(),
      signal: this.connecting.signal,
    });
    const { trainedTaskId: taskId, ancestorTaskIds } = groups.path;
    // The task it trains and, for a group task, its parent (task-participants.ts says why).
    this.participants = new TaskParticipants({
      ancestorTaskIds,
      dataDir: config.dataDir,
      // Round state that could not be written: do not wait for the next 5 s statfs, take no new work now.
      onWriteError: () => void this.diskQuota?.checkSpace(),
      main: {
        mesh,
        publicClient,
        wallet,
        contracts,
        taskId,
        spec: settings.task,
        // The task's spec as configured, before this node's own caps (the batch limit): the one the task registered.
        specHash: taskSpecHash(config.task),
        data: data.train,
        pool: this.pool,
        log: log.child({ component: "rounds" }),
        train: config.train,
        pollIntervalMs: config.pollIntervalMs,
        confirmations: config.confirmations,
        openRounds: config.openRounds,
        onGlobalModel: (ref, params) => personalizer.refresh(ref, params),
        groupGate: groups.gate,
        // Withdrawn at once, not at the next 10 s check: the selection is locked at the commit deadline.
        onModelHeldChange: () => void this.optIn?.resync(),
        behaviour: this.options.behaviour,
        events: roundEventsToReputation((event) => this.reputation?.apply(event)),
      },
    });
    this.participant = this.participants.main;
    // The round participant starts before the slow start-up work (the capacity measurement, the operator checks,
    // the opt-in transaction): a node restarted mid-round resumes from its persisted round state (own update,
    // received updates) and a restarted aggregator posts within its aggregation window (the soak measured
    // 7-14 s to the first tick with it last, past an 8 s window: slashed for a missed aggregation).
    this.participants.start();
    this.groups = groups;
    groups.regroup.start();
    // Traps an operator can fix, said once at start: no or too little stake, no binding, no gas, shared data.
    const findings = await checkOperator(
      { publicClient, contracts, deployment, rpcUrl: config.rpcUrl },
      this.options.account.address,
      mesh.peerId.toString(),
      config,
    ).catch((error: unknown) => {
      log.warn({ err: error }, "could not check the operator's stake and binding");
      return [];
    });
    for (const finding of findings) log.warn({ check: finding.code }, finding.message);

    this.capacity = new CapacityManager({
      mesh,
      reputation: this.reputation,
      limits: settings.limits,
      privateKey: this.options.nodeKey,
      operator: lower(this.options.account.address),
      log: log.child({ component: "capacity" }),
      metrics: this.metrics,
      attest: config.attestation.enabled,
      isTraining: () => (this.pool?.pending ?? 0) > 0,
      attestIntervalMs: config.attestation.intervalMs,
      attestPeersPerSweep: config.attestation.peersPerSweep,
      // Peers with the same fingerprint train the same shard: they warn, we warn (explicit shards included).
      dataFingerprint: config.train ? dataFingerprint(data.train) : undefined,
    });
    await this.capacity.start();
    this.provingRemeasure = new ProvingRemeasure(() => this.participant, log);
    this.provingRemeasure.start();
    // Receipts and reputation change over time, and a slash can make the operator inactive (then it must not stay
    // a candidate): re-decide often (two reads; a transaction only on change). A chain outage during start-up
    // must not end the node: the next check applies the opt-in once the chain answers.
    this.optIn = new OptInKeeper({
      // Volunteers for every task it runs: the one it trains and, for a group task, the parent.
      sync: { taskIds: this.participants.taskIds, publicClient, wallet, contracts, log },
      wanted: () => this.aggregatorOptIn(),
      suspended: () => this.paused.has("CHAIN_RESET"),
      onActiveChange: () => this.applyHold(),
      intervalMs: Math.min(config.attestation.intervalMs, OPT_IN_STAKE_CHECK_INTERVAL_MS),
    });
    await this.optIn.start();

    this.monitor = new ResourceMonitor(
      {
        dataDir: config.dataDir,
        limits: { memoryBytes: settings.limits.memoryBytes, diskBytes: settings.limits.diskBytes },
      },
      { registry: this.metrics, logger: log },
    );
    await this.monitor.start();
    this.diskQuota = new DiskQuotaGuard({
      dataDir: config.dataDir,
      quotaBytes: settings.limits.diskBytes,
      // The task's initial model: an importing operator's node may hold the only copy of its weights.
      pinnedModels: () => (this.participants?.all ?? []).map((p) => p.initialModelRef),
      log,
      metrics: this.metrics,
      onDiskFull: (message) => this.pause("DISK_FULL", message),
      onDiskRecovered: () => this.resume("DISK_FULL"),
    });
    this.status = new ChainStatusSource({
      publicClient: publicClient as unknown as PublicClient,
      chainId: clients.chain.id,
      rpcUrl: config.rpcUrl,
      contracts: {
        token: contracts.token,
        stakeRegistry: contracts.registry,
        trainingRounds: contracts.rounds,
      },
      version: NODE_VERSION,
      peerId: mesh.peerId.toString(),
      operator: this.options.account.address,
      fromBlock: BigInt(deployment.deploymentBlock),
      metrics: this.metrics,
      onReward: (roundId, amountWei) => this.eventLog?.reward(roundId, amountWei),
      taskIds: this.participants.taskIds,
    });
    this.eventLog = new EventLog({ source: this.status, operator: this.options.account.address, log });
    this.eventLog.start();
    await this.status.start();
    this.eventLog.live(); // the first poll replayed history; what follows is news
    this.diskQuota.start();
    const pool = this.pool;
    this.roundHistory = new RoundHistoryRecorder({
      participants: this.participants,
      publicClient,
      rounds: contracts.rounds,
      status: this.status,
      history: new HistoryFile(config.dataDir),
      evaluate: (params) => pool.evaluate(config.task.model, params, data.test),
      onFinished: ownOutcomeFolder({
        publicClient: publicClient as unknown as PublicClient,
        rounds: contracts.rounds,
        operator: this.options.account.address,
        apply: (event) => this.reputation?.apply(event),
      }),
      log,
    });
    await this.roundHistory.load();
    this.chainWatch = new ChainResetWatch({
      publicClient: publicClient as unknown as PublicClient,
      deployment,
      deploymentPath: path,
      rpcUrl: config.rpcUrl,
      onReset: (reason) => {
        log.error(
          { reason, dataDir: config.dataDir },
          `chain reset detected: ${reason}. This node stopped taking part. Redeploy (vain-node deploy), fund, stake and bind again, then restart the node; its round state under ${config.dataDir}/rounds belongs to the old chain`,
        );
        this.optIn?.stop();
        this.pause(
          "CHAIN_RESET",
          `chain reset detected: ${reason}; redeploy, stake, bind and restart the node`,
        );
      },
    });
    const watch = this.chainWatch;
    await waitForChain(() => watch.start(), {
      rpcUrl: config.rpcUrl,
      log,
      signal: this.connecting?.signal,
      what: "the chain-reset watch",
    });
    const peersGauge = new Gauge({
      name: "vain_mesh_admitted_peers",
      help: "Admitted peers",
      registers: [this.metrics],
    });
    this.timer = setInterval(() => {
      if (this.status !== undefined) peersGauge.set(publishPeerStatus(this.status, mesh, this.reputation));
      const resources = this.monitor?.snapshot();
      if (resources !== undefined) this.status?.update({ resources });
      if (this.capacity !== undefined) this.status?.update({ capacity: this.capacity.status() });
      // Chain reads fail while the RPC endpoint is down or overloaded: the next tick tries again. Unhandled, the
      // rejection ended the process (the soak's node 4, exit 1 on a failed `counts()` read, 2026-12-05).
      void this.roundHistory
        ?.recordFinishedRounds()
        .catch((error: unknown) =>
          log.debug(
            { reason: error instanceof BaseError ? error.shortMessage : String(error) },
            "round history not updated; retrying",
          ),
        );
    }, 2_000);
    this.timer.unref();
    if (config.apiPort !== 0 || config.ui) {
      this.server = createStatusServer({
        source: this.status,
        port: config.apiPort,
        uiDir: config.ui
          ? (await ensureDashboardBuilt({ onProgress: (line) => log.info(line) })).dir
          : undefined,
      });
      const { url } = await this.server.start();
      this.apiUrl = url;
      log.info({ url }, config.ui ? "status API and dashboard listening" : "status API listening");
    }
  }

  /** Leaves the mesh and flushes state; safe to call twice. */
  async stop(): Promise<void> {
    this.connecting?.abort(new Error("the node was stopped while waiting for the chain"));
    clearInterval(this.timer);
    // First, while the chain is reachable: a stopped node drawn as aggregator would be slashed for the miss.
    await this.optIn?.withdraw();
    this.provingRemeasure?.stop();
    this.groups?.stop();
    this.chainWatch?.stop();
    this.eventLog?.stop();
    this.diskQuota?.stop();
    await this.server?.stop().catch(() => undefined);
    await this.participants?.stop();
    await this.capacity?.stop();
    await this.mesh?.stop().catch(() => undefined);
    await this.status?.stop().catch(() => undefined);
    await this.monitor?.stop();
    await this.reputation?.flush().catch(() => undefined);
    await this.pool?.close();
    this.server = undefined;
    this.participants = undefined;
    this.participant = undefined;
    this.mesh = undefined;
    await this.lock?.release().catch(() => undefined);
    this.lock = undefined;
  }

  /** Why the node is paused (alert codes), for tests and the status API. */
  get pausedFor(): readonly string[] {
    return [...this.paused.keys()];
  }

  /**
   * Turns not ready until `resume(code)`. A chain reset stops the round participant (its state belongs to the old
   * chain). A full disk only holds new work (no training, aggregator opt-in withdrawn): a duty the node already
   * holds ends from memory, since a stopped aggregator would be slashed for a missed aggregation.
   */
  private pause(code: string, message: string): void {
    this.status?.raiseAlert(code, message);
    this.paused.set(code, message);
    this.applyPause();
  }

  private resume(code: string): void {
    if (!this.paused.delete(code)) return;
    this.status?.clearAlert(code);
    this.applyPause();
  }

  private applyPause(): void {
    if (this.paused.has("CHAIN_RESET")) {
      void this.participants?.stop();
      return;
    }
    this.applyHold();
    this.participants?.start();
    void this.optIn?.sync();
  }

  /** New work waits while the disk is full or the operator is inactive (the first reason is shown). */
  private applyHold(): void {
    this.participants?.hold(this.paused.get("DISK_FULL") ?? this.optIn?.inactiveReason);
  }

  /**
   * The aggregator opt-in to apply: the operator's explicit setting, else the capacity/reputation decision; never
   * on without aggregation duty (low-power profile or `resources.aggregatorDuty: false`).
   */
  private aggregatorOptIn(): boolean {
    const { config, log } = this.options;
    const duty = this.settings?.limits.aggregatorDuty ?? true;
    const { optIn, reason } = decideOptIn({
      setting: config.aggregator,
      capacity: this.capacity?.decideAggregatorOptIn(),
      duty,
      ...(this.participant?.shortfall() ?? { answerNeedsMs: undefined }),
      diskFull: this.paused.get("DISK_FULL"),
      modelSyncing: this.participant?.modelSync.syncing() === true,
    });
    const previous = this.capacity?.status().aggregator;
    if (previous?.optIn !== optIn || previous.reason !== reason) {
      log.info(
        { optIn, setting: config.aggregator, reason, duty },
        config.aggregator === "auto" ? "aggregator opt-in decided" : "aggregator opt-in set by the operator",
      );
      void this.capacity?.setAggregatorOptIn({ optIn, reason }).catch(() => undefined);
    }
    return optIn;
  }
}
