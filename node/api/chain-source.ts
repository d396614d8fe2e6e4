/**
 * A {@link NodeStatusSource} fed by the chain alone: staked peers (operators with a bound peer ID and their
 * active stake), the latest round and its deadlines, slashing events and the operator's rewards, polled from
 * the contracts' events. It is what the dashboard shows before the node's runtime is wired in, and what the
 * runtime can extend: it adds connectivity, reputation and training figures through `setPeerDetails` and
 * `recordRoundMetrics` (the chain cannot know them).
 */
import { Gauge, Registry } from "prom-client";
import { getAddress } from "viem";
import type { Address, GetContractEventsReturnType, Hex, PublicClient } from "viem";

import { RoundState, SLASH_REASON, stakeRegistryAbi, trainingRoundsAbi } from "../chain/contracts.ts";
import { peerIdFromChainBytes } from "../chain/peer-id.ts";
import { MemoryStatusSource } from "./memory-source.ts";
import { FAILURE_TEXT, RoundTimeline } from "./round-timeline.ts";
import type { NodeStatus, PeerStatus, RoundMetrics, RoundPhase, RoundStatus } from "./status.ts";

/**
 * The smallest reputation change worth a peers event: reputation decays continuously and the runtime re-reads it
 * every 2 s, so exact comparison would stream a peers event per tick; the dashboard shows whole percents.
 */
export const REPUTATION_CHANGE_SHOWN = 0.001;

/** Default poll interval: about one block on a local chain, cheap enough for public RPCs. */
export const CHAIN_POLL_INTERVAL_MS = 2_000;

const PHASE_OF_STATE: Readonly<Record<number, RoundPhase>> = {
  [RoundState.None]: "idle",
  [RoundState.Open]: "committing",
  [RoundState.Aggregating]: "aggregating",
  [RoundState.Challenging]: "challenging",
  [RoundState.Finalized]: "finalized",
  [RoundState.Failed]: "failed",
};

const REASON_TEXT: Readonly<Record<number, string>> = {
  [SLASH_REASON.wrongAggregate]: "wrong aggregate",
  [SLASH_REASON.missedDeadline]: "missed aggregation deadline",
  [SLASH_REASON.aggregatorEquivocation]: "aggregator equivocation",
  [SLASH_REASON.trainerEquivocation]: "trainer equivocation",
};

export interface ChainStatusSourceOptions {
  readonly publicClient: PublicClient;
  readonly chainId: number;
  readonly rpcUrl: string;
  readonly contracts: NodeStatus["contracts"];
  /** This node's identity. */
  readonly version: string;
  readonly peerId: string;
  readonly operator: Address;
  /** Block to read events from (the deployment block). */
  readonly fromBlock?: bigint;
  readonly pollIntervalMs?: number;
  readonly metrics?: Registry;
  /** A reward credited to this node's operator was read from the chain (for the operator's log). */
  readonly onReward?: (roundId: bigint, amountWei: bigint) => void;
  /**
   * The tasks this node runs (a group task's node runs its parent's too): `round` is the newest round of one of
   * them. Default: the newest round of any task.
   */
  readonly taskIds?: readonly bigint[];
}

/** Per-peer facts only the node's runtime knows (mesh connectivity, latency, reputation). */
export type PeerDetails = Pick<PeerStatus, "connected" | "reputation" | "latencyMs" | "abusePoints">;

/** Training figures of a finished round, recorded by the runtime; the chain adds reward, slashes and proof. */
export type RoundTrainingFigures = Pick<
  RoundMetrics,
  "roundId" | "taskId" | "accuracy" | "loss" | "bytesSent" | "bytesReceived" | "proofMs"
>;

function withDetails(peer: PeerStatus, details: PeerDetails): PeerStatus {
  const { latencyMs: _latency, abusePoints: _abuse, ...rest } = peer;
  return {
    ...rest,
    reputation: details.reputation,
    connected: details.connected,
    ...(details.latencyMs === undefined ? {} : { latencyMs: details.latencyMs }),
    ...(details.abusePoints === undefined ? {} : { abusePoints: details.abusePoints }),
  };
}

/** Round events whose block time the timeline shows (when a round opened and when it closed). */
const TIMED_EVENTS: ReadonlySet<string> = new Set(["RoundOpened", "RoundClosed", "SelectionExpired"]);

type RoundsLog = GetContractEventsReturnType<typeof trainingRoundsAbi, undefined, true>[number];

export class ChainStatusSource extends MemoryStatusSource {
  readonly #options: ChainStatusSourceOptions;
  readonly #operators = new Map<Address, Hex>();
  readonly #details = new Map<string, PeerDetails>();
  readonly #rewards = new Map<string, bigint>();
  readonly #slashesPerRound = new Map<string, number>();
  readonly #provenRounds = new Set<string>();
  readonly #timeline: RoundTimeline;
  readonly #peersGauge: Gauge;
  readonly #blockGauge: Gauge;
  #nextBlock: bigint;
  /** The newest round opened for one of `taskIds` (with `taskIds` set). */
  #newestOwnRound: bigint | undefined;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #lastError: unknown;

  constructor(options: ChainStatusSourceOptions) {
    const metrics = options.metrics ?? new Registry();
    super(
      {
        version: options.version,
        peerId: options.peerId,
        operator: options.operator,
        chainId: options.chainId,
        rpcUrl: options.rpcUrl,
        contracts: options.contracts,
        ready: false,
        startedAt: Date.now(),
        peers: [],
        round: null,
        history: [],
        slashes: [],
      },
      metrics,
    );
    this.#options = options;
    this.#timeline = new RoundTimeline(options.operator);
    this.#nextBlock = options.fromBlock ?? 0n;
    this.#peersGauge = new Gauge({
      name: "vain_status_staked_peers",
      help: "Peers with a bound peer ID",
      registers: [metrics],
    });
    this.#blockGauge = new Gauge({
      name: "vain_status_chain_block",
      help: "Latest chain block read",
      registers: [metrics],
    });
  }

  /** The error of the last failed poll (the chain is down), if the last poll failed. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /** Polls once now, then every `pollIntervalMs` until `stop()`. */
  async start(): Promise<void> {
    await this.poll();
    const interval = this.#options.pollIntervalMs ?? CHAIN_POLL_INTERVAL_MS;
    this.#timer = setInterval(() => void this.poll(), interval);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#polling;
  }

  /**
   * Raises a condition that keeps the node from acting (a reset chain, a full disk): `/ready` turns false and
   * stays false until it is cleared, whatever the chain polls say.
   */
  raiseAlert(code: string, message: string): void {
    const others = (this.status().alerts ?? []).filter((a) => a.code !== code);
    this.update({ alerts: [...others, { code, message, sinceMs: Date.now() }], ready: false });
  }

  /** Clears a condition raised with `raiseAlert`; the next successful poll makes the node ready again. */
  clearAlert(code: string): void {
    const alerts = (this.status().alerts ?? []).filter((a) => a.code !== code);
    this.update({ alerts });
  }

  /**
   * Merges runtime facts about a peer into the peers list, emitting a peers event when they change: the chain
   * alone re-lists peers only on registry events, so after a restart the saved reputation and the reconnected
   * mesh would otherwise wait for the next stake or bind to show.
   */
  setPeerDetails(peerId: string, details: PeerDetails): void {
    this.#details.set(peerId, details);
    // Compared with what is shown (not the last details), so slow drifts still show once they add up.
    const peers = this.status().peers;
    const shown = peers.find((peer) => peer.peerId === peerId);
    if (
      shown === undefined ||
      (shown.connected === details.connected &&
        shown.latencyMs === details.latencyMs &&
        shown.abusePoints === details.abusePoints &&
        Math.abs(shown.reputation - details.reputation) < REPUTATION_CHANGE_SHOWN)
    ) {
      return;
    }
    this.setPeers(peers.map((peer) => (peer.peerId === peerId ? withDetails(peer, details) : peer)));
  }

  /** Adds a finished round to the history, with the operator's reward and the slashes the chain recorded. */
  recordRoundMetrics(figures: RoundTrainingFigures, finishedAt: number = Date.now()): RoundMetrics {
    const row: RoundMetrics = {
      ...figures,
      reward: (this.#rewards.get(figures.roundId) ?? 0n).toString(),
      slashes: this.#slashesPerRound.get(figures.roundId) ?? 0,
      proven: this.#provenRounds.has(figures.roundId),
      finishedAt,
    };
    this.addRoundMetrics(row);
    return row;
  }

  /** Reads new events and refreshes peers and round; never throws (a down chain marks the node not ready). */
  poll(): Promise<void> {
    this.#polling ??= this.#poll()
      .then(
        () => {
          this.#lastError = undefined;
          const ready = (this.status().alerts ?? []).length === 0;
          if (this.status().ready !== ready) this.update({ ready });
        },
        (error: unknown) => {
          this.#lastError = error;
          if (this.status().ready) this.update({ ready: false });
        },
      )
      .finally(() => {
        this.#polling = undefined;
      });
    return this.#polling;
  }

  async #poll(): Promise<void> {
    const { publicClient, contracts } = this.#options;
    const latest = await publicClient.getBlockNumber();
    this.#blockGauge.set(Number(latest));
    let peersChanged = this.#nextBlock === 0n && this.status().peers.length === 0;
    let roundChanged = false;
    if (latest >= this.#nextBlock) {
      const range = { fromBlock: this.#nextBlock, toBlock: latest, strict: true } as const;
      const [registryEvents, roundEvents] = await Promise.all([
        publicClient.getContractEvents({ address: contracts.stakeRegistry, abi: stakeRegistryAbi, ...range }),
        publicClient.getContractEvents({
          address: contracts.trainingRounds,
          abi: trainingRoundsAbi,
          ...range,
        }),
      ]);
      for (const log of registryEvents) {
        switch (log.eventName) {
          case "PeerIdBound":
            this.#operators.set(getAddress(log.args.operator), log.args.peerId);
            peersChanged = true;
            break;
          case "PeerIdUnbound":
            if (this.#operators.get(getAddress(log.args.operator)) === log.args.peerId) {
              this.#operators.delete(getAddress(log.args.operator));
            }
            peersChanged = true;
            break;
          case "Staked":
          case "UnstakeRequested":
          case "Withdrawn":
            peersChanged = true;
            break;
          case "Slashed": {
            peersChanged = true;
            this.addSlash({
              operator: getAddress(log.args.operator),
              amount: log.args.amount.toString(),
              reason: REASON_TEXT[log.args.reason] ?? `reason ${log.args.reason}`,
              txHash: log.transactionHash,
              blockNumber: log.blockNumber.toString(),
            });
            break;
          }
          default:
            break;
        }
      }
      const blockTimes = await this.#blockTimes(
        roundEvents.filter((log) => TIMED_EVENTS.has(log.eventName)).map((log) => log.blockNumber),
      );
      for (const log of roundEvents) {
        roundChanged = true;
        this.#applyToTimeline(log, blockTimes.get(log.blockNumber));
        if (log.eventName === "RoundOpened" && this.#options.taskIds?.includes(log.args.taskId) === true)
          this.#newestOwnRound = log.args.roundId;
        if (
          log.eventName === "RewardCredited" &&
          getAddress(log.args.account) === getAddress(this.#options.operator)
        ) {
          const key = log.args.roundId.toString();
          this.#rewards.set(key, (this.#rewards.get(key) ?? 0n) + log.args.amount);
          this.#options.onReward?.(log.args.roundId, log.args.amount);
        } else if (log.eventName === "AggregatePosted" && log.args.proven) {
          this.#provenRounds.add(log.args.roundId.toString());
        } else if (log.eventName === "ChallengeFailed" || log.eventName === "AggregationMissed") {
          const key = log.args.roundId.toString();
          this.#slashesPerRound.set(key, (this.#slashesPerRound.get(key) ?? 0) + 1);
        } else if (log.eventName === "EquivocationProven") {
          const key = log.args.roundId.toString();
          this.#slashesPerRound.set(key, (this.#slashesPerRound.get(key) ?? 0) + 1);
        }
      }
      this.#nextBlock = latest + 1n;
      for (const entry of this.#timeline.takeChanged()) this.upsertTimeline(entry);
    }
    if (peersChanged) await this.#refreshPeers();
    if (roundChanged) await this.#refreshRound();
  }

  /** Chain time (unix ms) of each distinct block, read in parallel. */
  async #blockTimes(blockNumbers: readonly bigint[]): Promise<Map<bigint, number>> {
    const distinct = [...new Set(blockNumbers)];
    const blocks = await Promise.all(
      distinct.map((blockNumber) => this.#options.publicClient.getBlock({ blockNumber })),
    );
    return new Map(blocks.map((block) => [block.number, Number(block.timestamp) * 1000]));
  }

  #applyToTimeline(log: RoundsLog, atMs: number | undefined): void {
    const timeline = this.#timeline;
    switch (log.eventName) {
      case "RoundOpened":
        return timeline.opened(log.args.roundId, log.args.taskId, atMs);
      case "UpdateCommitted":
        return timeline.committed(log.args.roundId, log.args.trainer);
      case "AggregatorSelected":
        return timeline.selected(log.args.roundId, log.args.aggregator);
      case "AggregatePosted":
        return timeline.posted(log.args.roundId);
      case "SelectionExpired":
        timeline.failing(log.args.roundId, FAILURE_TEXT.selectionExpired);
        return timeline.closed(log.args.roundId, false, atMs);
      case "AggregationMissed":
        return timeline.failing(log.args.roundId, FAILURE_TEXT.aggregationMissed);
      case "AggregatorReplaced":
        return timeline.replaced(log.args.roundId, log.args.backup);
      case "ChallengeFailed":
        return timeline.failing(log.args.roundId, FAILURE_TEXT.challengeFailed);
      case "StatementDisputed":
        return timeline.failing(log.args.roundId, FAILURE_TEXT.statementDisputed);
      case "RoundContested":
        return timeline.failing(log.args.roundId, FAILURE_TEXT.contested);
      case "EquivocationProven":
        if (log.args.aggregator) timeline.failing(log.args.roundId, FAILURE_TEXT.aggregatorEquivocation);
        return;
      case "RoundClosed":
        return timeline.closed(log.args.roundId, log.args.state === RoundState.Finalized, atMs);
      case "RewardCredited":
        return timeline.rewarded(log.args.roundId, log.args.account, log.args.amount);
      default:
        return;
    }
  }

  async #refreshPeers(): Promise<void> {
    const { publicClient, contracts } = this.#options;
    const entries = [...this.#operators.entries()];
    const stakes = await Promise.all(
      entries.map(([operator]) =>
        publicClient.readContract({
          address: contracts.stakeRegistry,
          abi: stakeRegistryAbi,
          functionName: "activeStake",
          args: [operator],
        }),
      ),
    );
    const peers: PeerStatus[] = entries.map(([operator, bytes], index) => {
      // Entries come from bound peer IDs, so the bytes are never empty.
      const peerId = peerIdFromChainBytes(bytes) ?? bytes;
      const details = this.#details.get(peerId);
      const peer: PeerStatus = {
        peerId,
        operator,
        stake: (stakes[index] ?? 0n).toString(),
        // Unknown until the node has worked with the peer: neutral.
        reputation: 0.5,
        connected: peerId === this.#options.peerId,
      };
      return details === undefined ? peer : withDetails(peer, details);
    });
    this.#peersGauge.set(peers.length);
    this.setPeers(peers);
  }

  async #refreshRound(): Promise<void> {
    const { publicClient, contracts } = this.#options;
    const roundCount =
      this.#options.taskIds === undefined
        ? (
            await publicClient.readContract({
              address: contracts.trainingRounds,
              abi: trainingRoundsAbi,
              functionName: "counts",
            })
          )[1]
        : (this.#newestOwnRound ?? 0n);
    if (roundCount === 0n) return;
    const round = await publicClient.readContract({
      address: contracts.trainingRounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundCount],
    });
    const zero = "0x0000000000000000000000000000000000000000";
    const status: RoundStatus = {
      roundId: roundCount.toString(),
      taskId: round.taskId.toString(),
      phase: PHASE_OF_STATE[round.state] ?? "idle",
      deadlines: {
        commit: Number(round.commitDeadline) * 1000,
        aggregate: Number(round.aggregateDeadline) * 1000,
        challenge: Number(round.challengeDeadline) * 1000,
      },
      trainers: round.trainers.length,
      ...(round.aggregator === zero ? {} : { aggregator: getAddress(round.aggregator) }),
    };
    this.setRound(status);
  }
}
