/**
 * One node's part in the round protocol (docs/protocol.md §7), driven by the chain and carried over the
 * mesh. Each tick reads the task and its active round and does what is due for this node:
 *
 * OPEN         trainer: train from the round's base model, compress, commit (commitment + sample count)
 *              anyone after the commit deadline: selectAggregator
 * AGGREGATING  trainer: push the compressed update to the aggregator's peer over a stream
 *              aggregator: verify each update against its commitment, reject anomalous ones (weight 0),
 *              aggregate in fixed point, post the aggregate commitment and the new model's hash
 *              anyone after the aggregate deadline: reportMissedAggregation
 * CHALLENGING  aggregator: prove the challenged chunks and answer
 *              anyone: resolve challenges past their answer deadline (slashes), finalize after the window
 *
 * Every chain call is simulated first, so races between nodes (two finalizers) cost no gas; a failure is
 * logged and retried on the next tick, never thrown out of the loop.
 */
import type { PeerId } from "@libp2p/interface";
import { randomInt } from "node:crypto";

import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import type { Logger } from "pino";
import { z } from "zod";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

import { RdpAccountant } from "../aggregation/privacy.ts";
import { screenUpdates } from "../aggregation/screening.ts";
import { peerIdFromChainBytes } from "../chain/peer-id.ts";
import { stakeRegistryAbi, trainingRoundsAbi, ROUND_STATE } from "../chain/contracts.ts";
import { TopKCompressor, decodeUpdate, densify, encodeUpdate } from "../compression/index.ts";
import type { Mesh } from "../p2p/mesh.ts";
import { vainTopic } from "../p2p/gossip.ts";
import { MeshError } from "../p2p/errors.ts";
import {
  aggregateFixedPoint,
  MAX_WEIGHT,
  chunkCount,
  commitEncoded,
  decodeAnswerStatement,
  decodeFixedPoint,
  encodeChunkProofCalldata,
  encodeFixedPoint,
  encodeTrainerOpening,
  PROOF_TRAINERS,
  proveChunk,
} from "../proofs/index.ts";
import type { UpdateCommitment } from "../proofs/index.ts";
import type { Dataset } from "../training/data/dataset.ts";
import { createModel } from "../training/models.ts";
import type { TaskSpec } from "./task-spec.ts";
import type { TrainingPool } from "../training/pool.ts";
import { DEADLINE_OVERHEAD_MS, DEADLINE_SLACK, DEFAULT_QUORUM } from "../scheduling/constants.ts";
import type { AggregationGroup } from "../scheduling/hierarchy.ts";
import {
  HierarchyError,
  aggregateOfPartial,
  decodePartial,
  encodePartial,
  groupsLedBy,
  mergePartials,
  openingOf,
  parentOfGroup,
  partialOf,
  roundTreeFromChain,
  topGroup,
  trainersUnder,
  verifyOpenings,
} from "./hierarchy.ts";
import type { Opening, PartialAggregate, RoundTree } from "./hierarchy.ts";
import { ModelStore, bytesToParams } from "./models.ts";
import { trainerDelta } from "./update.ts";
import { OpeningsService } from "./openings.ts";
import type { RoundStore } from "./round-store.ts";

export { taskSpecSchema } from "./task-spec.ts";
export type { TaskSpec } from "./task-spec.ts";

/** Gossip topic on which a round's aggregator announces its listen addresses. */
export const AGGREGATOR_TOPIC = vainTopic("aggregator");
const ANNOUNCE_INTERVAL_MS = 3_000;
const aggregatorAnnouncementSchema = z.object({
  roundId: z.string().regex(/^\d{1,20}$/),
  addrs: z.array(z.string().max(256)).max(8),
});

/** Failed pushes to a sub-aggregator before a trainer sends its update to the round's aggregator instead. */
const UPLOAD_ATTEMPTS_BEFORE_FALLBACK = 3;
/** Fewer updates than this are not screened (no meaningful median). */
const MIN_SCREENED_UPDATES = 3;
/** Pause before re-sending a partial after a transport failure. */
const PARTIAL_RETRY_MS = 2_000;
/** Chain seconds before the aggregation deadline at which the aggregator posts whatever it has. */
const AGGREGATE_MARGIN_SECONDS = 15n;

/** Behaviours only the demo and tests switch on (the CLI's `start` has no flag for them). */
export interface AdversarialBehaviour {
  /** Post a biased aggregate and never answer its challenges. */
  readonly cheatAggregate?: boolean;
  /** Send a poisoned update. */
  readonly poison?: "sign-flip" | "scaled";
  /** With `cheatAggregate`: answer challenges with a proof over made-up trainer values (a false statement). */
  readonly lieInProof?: boolean;
  /** As a sub-aggregator, send biased partial aggregates (hierarchical rounds). */
  readonly cheatPartial?: boolean;
}

export interface ParticipantOptions {
  readonly mesh: Mesh;
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly wallet: WalletClient<Transport, Chain, Account>;
  readonly contracts: { readonly rounds: Address; readonly registry: Address };
  readonly taskId: bigint;
  readonly spec: TaskSpec;
  readonly data: Dataset;
  readonly pool: TrainingPool;
  readonly log: Logger;
  readonly train?: boolean;
  /** How long the aggregator waits for missing updates before aggregating what it has. */
  readonly aggregateWaitMs?: number;
  readonly pollIntervalMs?: number;
  readonly behaviour?: AdversarialBehaviour;
  readonly events?: ParticipantEvents;
  /** Blocks behind the head the node acts on (reorg safety); 0 on local automining chains. */
  readonly confirmations?: number;
  /** Back-off step between nodes for permissionless duties (default 2 s). */
  readonly dutyBackoffMs?: number;
  /** Crash-safe round state; without it a restarted node cannot deliver or prove what it committed to. */
  readonly store?: RoundStore;
  /** Share of the committed weight the aggregator waits for before it drops stragglers (default 0.6). */
  readonly quorum?: number;
}

export interface RoundOutcome {
  readonly roundId: bigint;
  readonly role: "trainer" | "aggregator" | "observer";
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly proofMs?: number;
  readonly accepted?: boolean;
  /** Updates and partial aggregates this node received for the round (its fan-in), its own included. */
  readonly inputs: number;
}

export interface ParticipantEvents {
  onPhase?(roundId: bigint, phase: string): void;
  onCommitted?(roundId: bigint, samples: number, bytes: number): void;
  onAggregated?(roundId: bigint, accepted: readonly Address[], rejected: readonly Address[]): void;
  onProof?(roundId: bigint, chunk: number, ms: number): void;
  /** A sub-aggregator's partial failed its spot check (hierarchical rounds). */
  onPartialRejected?(roundId: bigint, operator: Address, reason: string): void;
}

interface RoundWork {
  trainingStarted: boolean;
  committed: boolean;
  updateBytes?: Uint8Array;
  /** The commitment of `updateBytes` (for disputing a statement that misquotes it). */
  ownCommitment?: UpdateCommitment;
  delivered: boolean;
  pushing: boolean;
  aggregatingSince?: number;
  posted: boolean;
  aggregating: boolean;
  received: Map<
    string,
    { encoded: Uint16Array; commitment: UpdateCommitment; dense: Float32Array; bytes: number }
  >;
  aggregation?: {
    encoded: Uint16Array[];
    weights: number[];
    commitments: UpdateCommitment[];
    aggregate: Uint16Array;
    aggregateCommitment: UpdateCommitment;
  };
  answering: Set<number>;
  proofMs?: number;
  restored: boolean;
  announcedAt?: number;
  /** When each permissionless duty (select, finalize, …) was first seen due. */
  dueSince: Map<string, number>;
  /** Hierarchical rounds: the aggregation tree, partials received from sub-aggregators (by operator). */
  tree?: RoundTree;
  partials: Map<string, { level: number; partial: PartialAggregate }>;
  /** Partials this node built, by level, and the levels already delivered upward. */
  built: Map<number, PartialAggregate>;
  sentLevels: Set<number>;
  sendingLevels: Set<number>;
  partialRetryAt: Map<number, number>;
  /** Children whose partial failed its spot check this round. */
  refusedChildren: Set<string>;
  /** Answered chunks whose statement this node found true (or could no longer dispute). */
  statementsChecked: Set<bigint>;
  pushFailures: number;
}

type RoundView = Awaited<ReturnType<RoundParticipant["readRound"]>>;

export class RoundParticipant {
  readonly models = new ModelStore();
  private readonly options: ParticipantOptions;
  private readonly work = new Map<bigint, RoundWork>();
  private readonly compressor: TopKCompressor;
  private readonly paramSize: number;
  private specMismatchLogged = false;
  private readonly initialModel: Float32Array;
  private timer: ReturnType<typeof setInterval> | undefined;
  private ticking = false;
  private txQueue: Promise<unknown> = Promise.resolve();
  private fetching = new Set<string>();
  private readonly aggregatorAddresses = new Map<string, readonly string[]>();
  private abort = new AbortController();
  private readonly openings: OpeningsService;
  /** Samples per second of this node's own earlier training runs (EWMA), for sizing the next one. */
  private measuredSamplesPerSec: number | undefined;
  /** Privacy spent by this trainer's DP updates so far (one Gaussian mechanism per committed round). */
  private readonly privacy = new RdpAccountant();
  private privateRounds = 0;
  readonly stats = { bytesSent: 0, bytesReceived: 0 };

  constructor(options: ParticipantOptions) {
    this.options = options;
    const model = createModel(options.spec.model);
    this.paramSize = model.layout.size;
    this.initialModel = model.init(options.spec.initSeed);
    this.models.put(this.initialModel);
    this.compressor = new TopKCompressor({
      ratio: options.spec.compression.ratio,
      quantizeBits: options.spec.compression.quantizeBits,
      seed: options.spec.initSeed,
    });
    options.mesh.blobs.serve((sha) => this.models.bytesBySha256(sha));
    options.mesh.blobs.onBlob("update", (blob) => this.receiveUpdate(blob.from, blob.bytes, blob.meta));
    options.mesh.blobs.onBlob("partial", (blob) => this.receivePartial(blob.from, blob.bytes));
    this.openings = new OpeningsService({
      isAllowed: (peer) => options.mesh.admission.isAdmitted(peer),
      provider: (from, roundId, chunk, signal) => this.openingsForParent(from, roundId, chunk, signal),
    });
    // The selected aggregator announces where it listens, so trainers never connected to it can dial it.
    options.mesh.gossip.subscribe(AGGREGATOR_TOPIC, aggregatorAnnouncementSchema, (message) => {
      this.aggregatorAddresses.set(message.from, message.body.addrs);
    });
  }

  /** The local training data. */
  get dataset(): Dataset {
    return this.options.data;
  }

  /** Parameters of the task's model (its chunk count is fixed on chain when the task is created). */
  get parameterCount(): number {
    return this.paramSize;
  }

  /** The model this task starts from: every node derives it from the spec, and its hash is the task's first modelRef. */
  get initialModelRef(): Hex {
    return this.models.put(this.initialModel);
  }

  get operator(): Address {
    return this.options.wallet.account.address;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.abort = new AbortController();
    void this.openings.start(this.options.mesh.libp2p).catch((error: unknown) => {
      this.options.log.error({ err: error }, "openings protocol failed to start");
    });
    this.timer = setInterval(() => void this.tick(), this.options.pollIntervalMs ?? 300);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.openings.stop();
    await this.txQueue.catch(() => undefined);
  }

  /** The model the task currently names, if this node has it. */
  async currentModel(): Promise<{ ref: Hex; params: Float32Array | undefined }> {
    const task = await this.readTask();
    return { ref: task.modelRef, params: this.models.get(task.modelRef) };
  }

  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      // Decisions follow the chain `confirmations` blocks behind its head, so a reorg cannot make the node
      // act on state that disappears (0 on automining local chains, where no further block may come).
      const head = await this.options.publicClient.getBlockNumber({ cacheTime: 0 });
      const depth = BigInt(this.options.confirmations ?? 0);
      const blockNumber = head > depth ? head - depth : 0n;
      const task = await this.readTask(blockNumber);
      if (task.numChunks !== chunkCount(this.paramSize)) {
        // Another model than this node's spec: its updates could not be committed, checked or proven.
        if (!this.specMismatchLogged) {
          this.specMismatchLogged = true;
          this.options.log.error(
            {
              taskChunks: task.numChunks,
              specChunks: chunkCount(this.paramSize),
              parameters: this.paramSize,
            },
            "the task's chunk count on chain does not match this node's model spec: not taking part",
          );
        }
        return;
      }
      void this.ensureModel(task.modelRef);
      if (task.activeRound === 0n) return;
      const round = await this.readRound(task.activeRound, blockNumber);
      const now = (await this.options.publicClient.getBlock({ blockNumber })).timestamp;
      await this.advance(task.activeRound, round, now);
    } catch (error) {
      this.options.log.debug({ err: error }, "round tick failed; retrying");
    } finally {
      this.ticking = false;
    }
  }

  private async advance(roundId: bigint, round: RoundView, now: bigint): Promise<void> {
    const work = this.workFor(roundId);
    const me = this.operator.toLowerCase();
    const myIndex = round.trainers.findIndex((t) => t.toLowerCase() === me);
    if (!work.restored) {
      work.restored = true;
      await this.restore(roundId, round, work, myIndex >= 0);
    }
    switch (round.state) {
      case ROUND_STATE.open: {
        if (myIndex >= 0) work.committed = true;
        if (now <= round.commitDeadline) {
          if (this.options.train !== false && !work.trainingStarted && myIndex < 0) {
            work.trainingStarted = true;
            const windowMs = Number(round.commitDeadline - now) * 1000;
            void this.trainAndCommit(roundId, round.baseModelRef, work, windowMs).catch((error: unknown) => {
              work.trainingStarted = false;
              this.options.log.warn({ err: error, roundId }, "training/commit failed");
            });
          }
        } else {
          if (this.dutyDue(work, "select", myIndex)) await this.sendIfValid("selectAggregator", [roundId]);
        }
        return;
      }
      case ROUND_STATE.aggregating: {
        const aggregator = round.aggregator.toLowerCase();
        const tree = await this.treeOf(roundId, round);
        work.aggregatingSince ??= Date.now();
        const waitMs = this.options.aggregateWaitMs ?? 20_000;
        if (myIndex >= 0 && !work.delivered && !work.pushing && work.updateBytes !== undefined) {
          const target = this.uploadTarget(tree, work, waitMs);
          if (target === me) {
            await this.receiveUpdate(
              this.options.mesh.peerId.toString(),
              work.updateBytes,
              { round: roundId.toString() },
              true,
            );
            work.delivered = true;
          } else {
            work.pushing = true;
            void this.pushUpdate(roundId, target as Address, work).finally(() => (work.pushing = false));
          }
        }
        const leads = aggregator === me || groupsLedBy(tree, me).length > 0;
        if (leads && !work.posted && Date.now() - (work.announcedAt ?? 0) > ANNOUNCE_INTERVAL_MS) {
          work.announcedAt = Date.now();
          const addrs = this.options.mesh
            .multiaddrs()
            .slice(0, 8)
            .map((m) => m.toString());
          void this.options.mesh.gossip
            .publish(AGGREGATOR_TOPIC, { roundId: roundId.toString(), addrs })
            .catch(() => 0);
        }
        if (!work.aggregating && !work.posted) {
          work.aggregating = true;
          try {
            if (tree.hierarchical) await this.advanceHierarchy(roundId, round, work, tree, now, waitMs);
            else if (aggregator === me && this.flatReady(round, work, now, waitMs))
              await this.aggregateAndPost(roundId, round, work);
          } finally {
            work.aggregating = false;
          }
        }
        if (now > round.aggregateDeadline && this.dutyDue(work, "missed", myIndex))
          await this.sendIfValid("reportMissedAggregation", [roundId]);
        return;
      }
      case ROUND_STATE.challenging: {
        void this.ensureModel(round.modelRef, round.aggregator);
        const challenges = await this.pendingChallenges(roundId);
        const aggregator = round.aggregator.toLowerCase() === me;
        for (const challenge of challenges) {
          if (
            aggregator &&
            (this.options.behaviour?.cheatAggregate !== true || this.options.behaviour.lieInProof === true) &&
            !work.answering.has(challenge.chunk)
          ) {
            work.answering.add(challenge.chunk);
            void this.answer(roundId, challenge.chunk, work).catch((error: unknown) => {
              work.answering.delete(challenge.chunk);
              this.options.log.warn(
                { err: error, roundId, chunk: challenge.chunk },
                "answering a challenge failed",
              );
            });
          }
          if (now > challenge.answerDeadline && this.dutyDue(work, `resolve-${challenge.chunk}`, myIndex)) {
            await this.sendIfValid("resolveUnansweredChallenge", [roundId, BigInt(challenge.chunk)]);
          }
        }
        if (!aggregator) await this.watchStatements(roundId, round, work, myIndex);
        if (
          now > round.challengeDeadline &&
          now > round.disputeDeadline && // answers' statements stay disputable until then
          round.pendingChallenges === 0 &&
          this.dutyDue(work, "finalize", myIndex)
        )
          await this.sendIfValid("finalizeRound", [roundId]);
        return;
      }
      default:
        return;
    }
  }

  /**
   * The chain accepts an answer's statement without checking two parts of it (docs §5): the trainers' chunk
   * hashes it claims, and that its public input is their Poseidon hash. Every node checks each answered
   * statement: the Poseidon part by simulating `disputeStatement` (the chain's own Poseidon, in an eth_call,
   * costs no gas), the claimed hashes of every update it holds (its own; those it received as a
   * sub-aggregator) against their commitments. It disputes a false one: a Poseidon mismatch first trainer
   * first like other duties, a misquoted update at once (only its holders can show it). A true statement is
   * checked once.
   */
  private async watchStatements(
    roundId: bigint,
    round: RoundView,
    work: RoundWork,
    myIndex: number,
  ): Promise<void> {
    const answers = await this.options.publicClient.getContractEvents({
      address: this.options.contracts.rounds,
      abi: trainingRoundsAbi,
      eventName: "ChallengeAnswered",
      args: { roundId },
      fromBlock: 0n,
    });
    for (const answer of answers) {
      const chunk = answer.args.chunkIndex;
      const statement = answer.args.statement;
      if (chunk === undefined || statement === undefined || work.statementsChecked.has(chunk)) continue;
      const openings = await this.misquotedOpenings(round, work, myIndex, Number(chunk), statement);
      let evidence: Hex | undefined;
      for (const candidate of ["0x" as Hex, ...openings]) {
        if (await this.wouldSucceed("disputeStatement", [roundId, chunk, statement, candidate])) {
          evidence = candidate;
          break;
        }
      }
      if (evidence === undefined) {
        work.statementsChecked.add(chunk);
        continue;
      }
      if (evidence === "0x" && !this.dutyDue(work, `dispute-${chunk}`, myIndex)) continue;
      if (await this.sendIfValid("disputeStatement", [roundId, chunk, statement, evidence])) {
        work.statementsChecked.add(chunk);
        this.options.log.warn(
          { roundId, chunk, evidence: evidence === "0x" ? "poseidon" : "trainer opening" },
          "disputed a false statement: the aggregator is slashed",
        );
      }
    }
  }

  /**
   * Openings (dispute evidence) of the updates this node holds whose chunk hash at `chunk` differs from the
   * one the statement claims for them; weight-0 slots claim nothing.
   */
  private async misquotedOpenings(
    round: RoundView,
    work: RoundWork,
    myIndex: number,
    chunk: number,
    statement: Hex,
  ): Promise<Hex[]> {
    const held: { index: number; commitment: UpdateCommitment }[] = [];
    const own = await this.ownCommitment(work);
    if (myIndex >= 0 && own !== undefined) held.push({ index: myIndex, commitment: own });
    for (const [operator, received] of work.received) {
      const index = round.trainers.findIndex((t) => t.toLowerCase() === operator);
      if (index >= 0 && index !== myIndex) held.push({ index, commitment: received.commitment });
    }
    const claims = decodeAnswerStatement(statement);
    return held
      .filter(({ index, commitment }) => {
        if ((claims.weights[index] ?? 0) === 0) return false;
        const committed = commitment.chunkHashes[chunk];
        return committed !== undefined && committed !== claims.trainerChunkHashes[index];
      })
      .map(({ index, commitment }) => encodeTrainerOpening(index, commitment, chunk));
  }

  /** The commitment of this node's own update in a round (computed once, from the bytes it committed). */
  private async ownCommitment(work: RoundWork): Promise<UpdateCommitment | undefined> {
    if (work.ownCommitment !== undefined || work.updateBytes === undefined) return work.ownCommitment;
    const encoded = encodeFixedPoint(
      densify(decodeUpdate(work.updateBytes, { maxDimension: this.paramSize })),
    );
    work.ownCommitment = await commitEncoded(encoded);
    return work.ownCommitment;
  }

  /** Whether a TrainingRounds call would succeed now (an eth_call; no transaction). */
  private async wouldSucceed(functionName: RoundsWrite, args: readonly unknown[]): Promise<boolean> {
    try {
      await this.options.publicClient.simulateContract({
        account: this.options.wallet.account,
        address: this.options.contracts.rounds,
        abi: trainingRoundsAbi,
        functionName,
        args,
      } as Parameters<typeof this.options.publicClient.simulateContract>[0]);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Permissionless duties (select the aggregator, finalize, report a miss, resolve a challenge) are open to
   * every node; if all raced, all but one transaction would revert and waste gas. The round's first trainer
   * acts at once, the other trainers back off by their position, everyone else only if nobody did.
   */
  private dutyDue(work: RoundWork, duty: string, trainerIndex: number): boolean {
    const since = work.dueSince.get(duty) ?? Date.now();
    work.dueSince.set(duty, since);
    const step = this.options.dutyBackoffMs ?? 2_000;
    const delay =
      trainerIndex >= 0 ? trainerIndex * step : (PROOF_TRAINERS + 1) * step + Math.random() * step;
    return Date.now() - since >= delay;
  }

  private workFor(roundId: bigint): RoundWork {
    let work = this.work.get(roundId);
    if (work === undefined) {
      work = {
        trainingStarted: false,
        committed: false,
        delivered: false,
        pushing: false,
        posted: false,
        aggregating: false,
        received: new Map(),
        answering: new Set(),
        restored: false,
        dueSince: new Map(),
        partials: new Map(),
        built: new Map(),
        sentLevels: new Set(),
        sendingLevels: new Set(),
        partialRetryAt: new Map(),
        refusedChildren: new Set(),
        statementsChecked: new Set(),
        pushFailures: 0,
      };
      this.work.set(roundId, work);
      for (const old of this.work.keys()) if (old < roundId - 4n) this.work.delete(old);
    }
    return work;
  }

  /** Latest state of this node's work in a round, for status and the demo's table. */
  outcome(roundId: bigint): RoundOutcome | undefined {
    const work = this.work.get(roundId);
    if (work === undefined) return undefined;
    return {
      roundId,
      role: work.aggregation !== undefined ? "aggregator" : work.committed ? "trainer" : "observer",
      bytesSent: work.updateBytes?.length ?? 0,
      bytesReceived: [...work.received.values()].reduce((sum, r) => sum + r.bytes, 0),
      proofMs: work.proofMs,
      inputs: work.received.size + work.partials.size,
    };
  }

  /** (epsilon, delta) this trainer has spent under the task's DP settings, or undefined without DP. */
  privacySpent(): { epsilon: number; delta: number; rounds: number } | undefined {
    const dp = this.options.spec.privacy.dp;
    if (dp === undefined) return undefined;
    const epsilon = this.privateRounds === 0 ? 0 : this.privacy.epsilon(dp.delta).epsilon;
    return { epsilon, delta: dp.delta, rounds: this.privateRounds };
  }

  /** How many answered challenges of a round this node has checked (and found true or disputed). */
  statementsChecked(roundId: bigint): number {
    return this.work.get(roundId)?.statementsChecked.size ?? 0;
  }

  /** The compressed update this node committed in a round, if it trained in it. */
  ownUpdate(roundId: bigint): Uint8Array | undefined {
    return this.work.get(roundId)?.updateBytes;
  }

  /**
   * Local optimizer steps for this round: the task's full local work, or as much of it as this node's speed
   * finishes inside the commit window (with slack and a fixed overhead for compression and the commit), so a
   * slow node contributes less instead of missing the deadline. `undefined` means "too slow to contribute".
   */
  plannedSteps(windowMs: number): number | undefined {
    const { spec, data } = this.options;
    const full = Math.ceil(data.count / spec.train.batchSize) * spec.train.epochs;
    const speed = this.measuredSamplesPerSec;
    if (speed === undefined || !(speed > 0)) return full;
    const affordable = Math.floor(
      (speed * Math.max(0, windowMs - DEADLINE_OVERHEAD_MS)) / (DEADLINE_SLACK * 1000 * spec.train.batchSize),
    );
    const steps = Math.min(full, affordable);
    return steps >= 1 ? steps : undefined;
  }

  private async trainAndCommit(
    roundId: bigint,
    baseRef: Hex,
    work: RoundWork,
    windowMs: number,
  ): Promise<void> {
    const base = await this.ensureModel(baseRef);
    if (base === undefined) throw new Error(`base model ${baseRef} not available yet`);
    const { spec, data, pool } = this.options;
    const steps = this.plannedSteps(windowMs);
    if (steps === undefined) {
      this.options.log.info({ roundId, windowMs }, "too slow for this round's commit window; sitting it out");
      return;
    }
    const started = performance.now();
    const result = await pool.train(
      {
        model: spec.model,
        params: base,
        data,
        options: { ...spec.train, steps, seed: Number(roundId % 1_000_000n) + spec.initSeed },
      },
      { signal: this.abort.signal },
    );
    const speed = (result.samples * 1000) / Math.max(1, performance.now() - started);
    this.measuredSamplesPerSec =
      this.measuredSamplesPerSec === undefined ? speed : 0.7 * this.measuredSamplesPerSec + 0.3 * speed;
    const scale =
      this.options.behaviour?.poison === "sign-flip"
        ? -4
        : this.options.behaviour?.poison === "scaled"
          ? 10
          : 1;
    const dp = spec.privacy.dp;
    const delta = trainerDelta(result.params, base, { scale, ...(dp === undefined ? {} : { dp }) });
    const bytes = encodeUpdate(this.compressor.compress(delta));
    const encoded = encodeFixedPoint(densify(decodeUpdate(bytes)));
    const commitment = await commitEncoded(encoded);
    // The weight is the work done: samples processed, at most the local dataset (one epoch's worth).
    const samples = Math.max(1, Math.min(result.samples, data.count, MAX_WEIGHT));
    await this.options.store?.saveOwnUpdate(roundId, bytes);
    const sent = await this.sendIfValid("commitUpdate", [roundId, commitment.root, BigInt(samples)]);
    if (!sent) throw new Error("commit not accepted");
    work.updateBytes = bytes;
    work.ownCommitment = commitment;
    work.committed = true;
    // Every committed round releases one Gaussian-noised update of the whole local dataset (q = 1).
    if (dp !== undefined) {
      this.privacy.compose(1, dp.noiseMultiplier, 1);
      this.privateRounds += 1;
    }
    this.options.events?.onCommitted?.(roundId, samples, bytes.length);
    this.options.log.info(
      { roundId, samples, bytes: bytes.length, loss: result.meanLoss, privacy: this.privacySpent() },
      "update committed",
    );
  }

  /** Makes sure `peer` is connected and admitted both ways, dialling announced addresses when needed. */
  private async reach(peer: PeerId): Promise<void> {
    if (this.options.mesh.admission.isAdmitted(peer)) return;
    const hints = this.aggregatorAddresses.get(peer.toString()) ?? [];
    const multiaddrs = hints.flatMap((text) => {
      try {
        return [multiaddr(text)];
      } catch {
        return [];
      }
    });
    if (multiaddrs.length > 0) await this.options.mesh.libp2p.peerStore.merge(peer, { multiaddrs });
    await this.options.mesh.libp2p.dial(peer, { signal: AbortSignal.timeout(5_000) });
    await this.options.mesh.admission.waitForAdmission(peer.toString(), AbortSignal.timeout(5_000));
  }

  /** Pushes a round's blob to the node bound to `operator`, dialling and admitting it first if needed. */
  private async pushTo(
    operator: Address,
    kind: "update" | "partial",
    bytes: Uint8Array,
    roundId: bigint,
  ): Promise<void> {
    const peer = await this.peerOf(operator);
    await this.reach(peer);
    await this.options.mesh.blobs.push(peer, kind, bytes, { round: roundId.toString() }, this.abort.signal);
  }

  /** Sends our committed update to `target` (the aggregator, or our sub-aggregator in hierarchical rounds). */
  private async pushUpdate(roundId: bigint, target: Address, work: RoundWork): Promise<void> {
    const bytes = work.updateBytes;
    if (bytes === undefined) return;
    try {
      await this.pushTo(target, "update", bytes, roundId);
      work.delivered = true;
      this.stats.bytesSent += bytes.length;
      this.options.log.info({ roundId, to: target, bytes: bytes.length }, "update delivered");
    } catch (error) {
      work.pushFailures += 1;
      this.options.log.debug({ err: error, roundId, to: target }, "update push failed; will retry");
    }
  }

  /** Aggregator side: accept an update only if it matches the sender's on-chain commitment. */
  private async receiveUpdate(
    from: string,
    bytes: Uint8Array,
    meta: Readonly<Record<string, string | number | boolean>>,
    own = false,
  ): Promise<void> {
    const roundText = meta["round"];
    if (typeof roundText !== "string" || !/^\d{1,20}$/.test(roundText))
      throw new MeshError("BLOB_REJECTED", "update without a round number");
    const roundId = BigInt(roundText);
    const operator = own ? this.operator : this.options.mesh.admission.peer(from)?.operator;
    if (operator === undefined) throw new MeshError("NOT_ADMITTED", "sender is not admitted");
    await this.acceptUpdate(roundId, operator, bytes);
    if (!own) this.stats.bytesReceived += bytes.length;
    await this.options.store?.saveReceived(roundId, operator, bytes);
  }

  /** Verifies an update against its trainer's on-chain commitment and keeps it for aggregation. */
  private async acceptUpdate(roundId: bigint, operator: Address, bytes: Uint8Array): Promise<void> {
    const round = await this.readRound(roundId);
    const index = round.trainers.findIndex((t) => t.toLowerCase() === operator.toLowerCase());
    if (index < 0) throw new MeshError("BLOB_REJECTED", "sender did not commit in this round");
    // The round's aggregator takes any trainer's update (flat rounds, and the fallback of hierarchical ones);
    // a sub-aggregator only those of its own group.
    const me = this.operator.toLowerCase();
    if (
      round.aggregator.toLowerCase() !== me &&
      (await this.treeOf(roundId, round)).plan.parentOf.get(operator.toLowerCase()) !== me
    )
      throw new MeshError("BLOB_REJECTED", "this node does not aggregate this trainer's update");
    let encoded: Uint16Array;
    let dense: Float32Array;
    try {
      dense = densify(decodeUpdate(bytes, { maxDimension: this.paramSize }));
      if (dense.length !== this.paramSize) throw new Error(`dimension ${dense.length} != ${this.paramSize}`);
      encoded = encodeFixedPoint(dense);
    } catch (error) {
      throw new MeshError("BLOB_REJECTED", `undecodable update: ${(error as Error).message}`);
    }
    const commitment = await commitEncoded(encoded);
    if (commitment.root.toLowerCase() !== round.commitments[index]!.toLowerCase())
      throw new MeshError("BLOB_REJECTED", "update does not match the on-chain commitment");
    const work = this.workFor(roundId);
    work.received.set(operator.toLowerCase(), {
      encoded,
      commitment,
      dense: decodeFixedPoint(encoded),
      bytes: bytes.length,
    });
  }

  /**
   * After a restart: reload our committed update, the updates we received as aggregator, and, if we
   * already posted, rebuild what answering challenges needs from them and the on-chain weights.
   */
  private async restore(
    roundId: bigint,
    round: RoundView,
    work: RoundWork,
    committed: boolean,
  ): Promise<void> {
    const store = this.options.store;
    if (store === undefined) return;
    if (committed && work.updateBytes === undefined) {
      const own = await store.loadOwnUpdate(roundId);
      if (own !== undefined) {
        work.updateBytes = own;
        work.committed = true;
        this.options.log.info({ roundId }, "restored own committed update");
      }
    }
    if (round.aggregator.toLowerCase() !== this.operator.toLowerCase()) return;
    for (const { operator, bytes } of await store.loadReceived(roundId)) {
      await this.acceptUpdate(roundId, operator, bytes).catch(() => undefined);
    }
    if (round.state !== ROUND_STATE.challenging || work.aggregation !== undefined) return;
    const zero = encodeFixedPoint(new Float32Array(this.paramSize));
    const present = round.trainers.map((t) => work.received.get(t.toLowerCase()));
    const weights = round.weights.map(Number);
    const encoded = present.map((p) => p?.encoded ?? zero);
    const { aggregate } = aggregateFixedPoint(encoded, weights);
    const aggregateCommitment = await commitEncoded(aggregate);
    if (aggregateCommitment.root.toLowerCase() !== round.aggregateCommitment.toLowerCase()) {
      this.options.log.warn(
        { roundId },
        "stored updates do not reproduce the posted aggregate; cannot answer challenges",
      );
      return;
    }
    rememberAggregation(work, { encoded, weights, present, aggregate, aggregateCommitment });
    this.options.log.info({ roundId }, "restored aggregation state after restart");
  }

  /** The round's aggregation tree (see `roundTreeFromChain`), computed once per round. */
  private async treeOf(roundId: bigint, round: RoundView): Promise<RoundTree> {
    const work = this.workFor(roundId);
    work.tree ??= await roundTreeFromChain(
      this.options.publicClient,
      this.options.contracts.rounds,
      roundId,
      round,
      this.options.spec.aggregation.maxFanIn,
    );
    return work.tree;
  }

  /**
   * Where our update goes: the aggregator in flat rounds, our sub-aggregator in hierarchical ones, and the
   * round's aggregator itself when the sub-aggregator cannot be reached in time (it accepts any trainer).
   */
  private uploadTarget(tree: RoundTree, work: RoundWork, waitMs: number): string {
    const me = this.operator.toLowerCase();
    const parent = tree.plan.parentOf.get(me) ?? tree.root;
    const stuck =
      work.pushFailures >= UPLOAD_ATTEMPTS_BEFORE_FALLBACK ||
      Date.now() - (work.aggregatingSince ?? Date.now()) > waitMs / 2;
    return parent !== tree.root && stuck ? tree.root : parent;
  }

  /**
   * Flat rounds: aggregate when every update is in; or, after `aggregateWaitMs`, once a quorum of the committed
   * weight is in; or regardless when the chain's aggregation deadline is near (stragglers are dropped, never
   * waited for past the point where this node would miss its own deadline).
   */
  private flatReady(round: RoundView, work: RoundWork, now: bigint, waitMs: number): boolean {
    let committed = 0;
    let received = 0;
    round.trainers.forEach((t, i) => {
      const weight = Number(round.sampleCounts[i]!);
      committed += weight;
      if (work.received.has(t.toLowerCase())) received += weight;
    });
    if (received === 0) return false;
    if (received === committed) return true;
    const waited = Date.now() - (work.aggregatingSince ?? Date.now()) >= waitMs;
    const quorum = this.options.quorum ?? DEFAULT_QUORUM;
    const nearDeadline = round.aggregateDeadline - now <= AGGREGATE_MARGIN_SECONDS;
    return (waited && received >= quorum * committed) || nearDeadline;
  }

  /**
   * Robust screening of the received updates of `operators` (aggregation/screening.ts): each gets its weight
   * (sample count, capped at the group's median count), or 0 when it is anomalous (no reward, no influence).
   * Operators without a received update are absent from the result.
   */
  private screen(round: RoundView, work: RoundWork, operators: readonly string[]): Map<string, number> {
    const index = new Map(round.trainers.map((t, i) => [t.toLowerCase(), i]));
    const available = operators.flatMap((operator) => {
      const update = work.received.get(operator);
      const i = index.get(operator);
      return update === undefined || i === undefined ? [] : [{ operator, update, i }];
    });
    const out = new Map<string, number>();
    if (available.length === 0) return out;
    // A median of one or two updates is no robust reference: small groups pass unscreened.
    if (available.length < MIN_SCREENED_UPDATES) {
      for (const { operator, i } of available)
        out.set(operator, Math.min(Number(round.sampleCounts[i]!), MAX_WEIGHT));
      return out;
    }
    const weighted = available.map(({ update, i }) => ({
      update: update.dense,
      weight: Number(round.sampleCounts[i]!),
    }));
    const { acceptedWeights } = screenUpdates(weighted);
    available.forEach(({ operator }, k) => {
      out.set(operator, Math.min(acceptedWeights[k]!, MAX_WEIGHT));
    });
    return out;
  }

  /** PartialAggregate of screened raw updates (a level-1 group, or the root's fallback updates). */
  private rawPartial(round: RoundView, work: RoundWork, operators: readonly string[]): PartialAggregate {
    const weights = this.screen(round, work, operators);
    return partialOf(
      this.paramSize,
      [...weights].map(([operator, weight]) => ({
        operator,
        weight,
        encoded: work.received.get(operator)!.encoded,
      })),
    );
  }

  /**
   * Hierarchical rounds: build each group this node leads once its inputs are in (or its level's share of the
   * wait is over), send the partial up, and, at the root, post the aggregate. Lower levels get earlier cut-offs
   * (level L of D waits L/D of `aggregateWaitMs`) so the root is never the one that waits for everybody.
   */
  private async advanceHierarchy(
    roundId: bigint,
    round: RoundView,
    work: RoundWork,
    tree: RoundTree,
    now: bigint,
    waitMs: number,
  ): Promise<void> {
    const me = this.operator.toLowerCase();
    const elapsed = Date.now() - (work.aggregatingSince ?? Date.now());
    const nearDeadline = round.aggregateDeadline - now <= AGGREGATE_MARGIN_SECONDS;
    const groups = groupsLedBy(tree, me);
    for (const group of groups) {
      if (work.built.has(group.level)) continue;
      const due = nearDeadline || elapsed >= (waitMs * group.level) / tree.plan.depth;
      const built = this.buildGroup(round, work, tree, group, due);
      if (built === undefined) break; // a level waits for the one below it
      work.built.set(group.level, built);
      this.options.log.info(
        { roundId, level: group.level, trainers: [...built.weights.values()].filter((w) => w > 0).length },
        "partial aggregate built",
      );
    }
    for (const group of groups) {
      const partial = work.built.get(group.level);
      const parent = parentOfGroup(tree, group);
      if (partial === undefined || parent === undefined || parent === me) continue;
      if (work.sentLevels.has(group.level) || work.sendingLevels.has(group.level)) continue;
      if (Date.now() < (work.partialRetryAt.get(group.level) ?? 0)) continue;
      work.sendingLevels.add(group.level);
      void this.pushPartial(roundId, group.level, partial, parent as Address, work).finally(() =>
        work.sendingLevels.delete(group.level),
      );
    }
    if (me === tree.root) {
      const partial = work.built.get(topGroup(tree).level);
      if (partial !== undefined) await this.postHierarchical(roundId, round, work, partial);
    }
  }

  /** One group's partial, or undefined while its inputs are still expected. */
  private buildGroup(
    round: RoundView,
    work: RoundWork,
    tree: RoundTree,
    group: AggregationGroup,
    due: boolean,
  ): PartialAggregate | undefined {
    const me = this.operator.toLowerCase();
    if (group.level === 1) {
      const complete = group.members.every((m) => work.received.has(m));
      return complete || due ? this.maybeBias(this.rawPartial(round, work, group.members)) : undefined;
    }
    const inputs = group.members.map((member) =>
      member === me ? work.built.get(group.level - 1) : work.partials.get(member)?.partial,
    );
    // A child whose partial failed its check will not send another: no reason to wait for it.
    const complete = inputs.every((p, k) => p !== undefined || work.refusedChildren.has(group.members[k]!));
    if (!complete && !due) return undefined;
    const parts = inputs.filter((p): p is PartialAggregate => p !== undefined);
    if (group === topGroup(tree)) {
      // The root also takes updates sent to it directly by trainers whose sub-aggregator failed them.
      const covered = new Set(parts.flatMap((p) => [...p.weights.keys()]));
      const direct = [...work.received.keys()].filter((operator) => !covered.has(operator));
      if (direct.length > 0) parts.push(this.rawPartial(round, work, direct));
    }
    return this.maybeBias(mergePartials(this.paramSize, parts));
  }

  /** The demo's lying sub-aggregator: shifts every coordinate of its partial (caught by the spot check). */
  private maybeBias(partial: PartialAggregate): PartialAggregate {
    if (this.options.behaviour?.cheatPartial !== true) return partial;
    let total = 0;
    for (const w of partial.weights.values()) total += w;
    return { weights: partial.weights, sums: partial.sums.map((s) => s + 40 * total) };
  }

  private async pushPartial(
    roundId: bigint,
    level: number,
    partial: PartialAggregate,
    parent: Address,
    work: RoundWork,
  ): Promise<void> {
    try {
      const bytes = encodePartial(roundId, level, partial);
      await this.pushTo(parent, "partial", bytes, roundId);
      work.sentLevels.add(level);
      this.stats.bytesSent += bytes.length;
      this.options.log.info(
        { roundId, level, to: parent, bytes: bytes.length },
        "partial aggregate delivered",
      );
    } catch (error) {
      if (error instanceof MeshError && error.code === "BLOB_REJECTED") {
        // A refusal is final (too late, or the parent found it wrong): retrying would only repeat it.
        work.sentLevels.add(level);
        this.options.log.warn({ err: error, roundId, level, to: parent }, "partial refused by the parent");
      } else {
        work.partialRetryAt.set(level, Date.now() + PARTIAL_RETRY_MS);
        this.options.log.warn({ err: error, roundId, level, to: parent }, "partial push failed; will retry");
      }
    }
  }

  /**
   * Parent side: accept a child's partial only if the child leads a group under us, names only trainers of
   * its subtree, and opens `spotChecks` random chunks consistently with the trainers' on-chain commitments.
   */
  private async receivePartial(from: string, bytes: Uint8Array): Promise<void> {
    const operator = this.options.mesh.admission.peer(from)?.operator;
    if (operator === undefined) throw new MeshError("NOT_ADMITTED", "sender is not admitted");
    const sender = operator.toLowerCase();
    let decoded: ReturnType<typeof decodePartial>;
    try {
      decoded = decodePartial(bytes, this.paramSize);
    } catch (error) {
      throw new MeshError("BLOB_REJECTED", (error as Error).message);
    }
    const { roundId, level, partial } = decoded;
    const round = await this.readRound(roundId);
    if (round.state !== ROUND_STATE.aggregating)
      throw new MeshError("BLOB_REJECTED", "round is not aggregating");
    const work = this.workFor(roundId);
    const tree = await this.treeOf(roundId, round);
    const me = this.operator.toLowerCase();
    const group = tree.plan.groups.find((g) => g.level === level && g.aggregator === sender);
    if (group === undefined || parentOfGroup(tree, group) !== me)
      throw new MeshError("BLOB_REJECTED", "sender's partial does not belong to this node");
    if (work.built.has(level + 1)) throw new MeshError("BLOB_REJECTED", "partial arrived after the cut-off");
    const allowed = trainersUnder(tree, group);
    for (const trainer of partial.weights.keys()) {
      if (!allowed.has(trainer))
        throw new MeshError("BLOB_REJECTED", `partial names trainer ${trainer} outside its group`);
    }
    try {
      await this.spotCheck(roundId, round, peerIdFromString(from), partial, allowed);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      work.refusedChildren.add(sender);
      this.options.events?.onPartialRejected?.(roundId, operator, reason);
      this.options.log.warn({ roundId, from: operator, reason }, "partial aggregate failed its spot check");
      throw new MeshError("BLOB_REJECTED", `spot check failed: ${reason}`);
    }
    work.partials.set(sender, { level, partial });
    this.stats.bytesReceived += bytes.length;
  }

  private committedOf(round: RoundView): Map<string, { root: Hex; maxWeight: number }> {
    return new Map(
      round.trainers.map((t, i) => [
        t.toLowerCase(),
        {
          root: round.commitments[i]!,
          maxWeight: Math.min(Number(round.sampleCounts[i]!), MAX_WEIGHT),
        },
      ]),
    );
  }

  private async spotCheck(
    roundId: bigint,
    round: RoundView,
    child: PeerId,
    partial: PartialAggregate,
    allowed: ReadonlySet<string>,
  ): Promise<void> {
    const chunks = chunkCount(this.paramSize);
    const picks = new Set<number>();
    const want = Math.min(chunks, this.options.spec.aggregation.spotChecks);
    while (picks.size < want) picks.add(randomInt(chunks));
    const committed = this.committedOf(round);
    for (const chunk of picks) {
      const openings = await this.openings.request(child, roundId, chunk, this.abort.signal);
      await verifyOpenings(openings, { chunk, partial, allowed, committed });
    }
  }

  /** Openings a parent asks for: one chunk of the partial we sent it, down to every included trainer. */
  private async openingsForParent(
    from: string,
    roundId: bigint,
    chunk: number,
    signal: AbortSignal,
  ): Promise<readonly Opening[]> {
    const requester = this.options.mesh.admission.peer(from)?.operator?.toLowerCase();
    const work = this.work.get(roundId);
    const tree = work?.tree;
    if (requester === undefined || work === undefined || tree === undefined)
      throw new HierarchyError("OPENING_INVALID", "no partial of this round here");
    if (chunk >= chunkCount(this.paramSize))
      throw new HierarchyError("OPENING_INVALID", "chunk out of range");
    const me = this.operator.toLowerCase();
    const group = groupsLedBy(tree, me).find(
      (g) => parentOfGroup(tree, g) === requester && work.built.has(g.level),
    );
    if (group === undefined) throw new HierarchyError("OPENING_INVALID", "we sent no partial to this peer");
    return this.openingsOf(roundId, work, tree, group, chunk, signal);
  }

  private async openingsOf(
    roundId: bigint,
    work: RoundWork,
    tree: RoundTree,
    group: AggregationGroup,
    chunk: number,
    signal: AbortSignal,
  ): Promise<Opening[]> {
    const partial = work.built.get(group.level);
    if (partial === undefined) throw new HierarchyError("OPENING_INVALID", "partial not built");
    if (group.level === 1) {
      return [...partial.weights]
        .filter(([, weight]) => weight > 0)
        .map(([operator, weight]) => {
          const update = work.received.get(operator)!;
          return openingOf(operator, weight, update.encoded, update.commitment, chunk);
        });
    }
    const me = this.operator.toLowerCase();
    const round = await this.readRound(roundId);
    const out: Opening[] = [];
    for (const member of group.members) {
      if (member === me) {
        const below = groupsLedBy(tree, me).find((g) => g.level === group.level - 1);
        if (below !== undefined)
          out.push(...(await this.openingsOf(roundId, work, tree, below, chunk, signal)));
        continue;
      }
      const child = work.partials.get(member);
      const childGroup = tree.plan.groups.find((g) => g.level === group.level - 1 && g.aggregator === member);
      if (child === undefined || childGroup === undefined) continue;
      const openings = await this.openings.request(
        await this.peerOf(member as Address),
        roundId,
        chunk,
        signal,
      );
      // Checked before forwarding, so a lying child is blamed here rather than us upstream.
      await verifyOpenings(openings, {
        chunk,
        partial: child.partial,
        allowed: trainersUnder(tree, childGroup),
        committed: this.committedOf(round),
      });
      out.push(...openings);
    }
    return out;
  }

  /** Root of a hierarchical round: the aggregate of the merged partials, posted unproven (docs/protocol.md §7, hierarchical rounds). */
  private async postHierarchical(
    roundId: bigint,
    round: RoundView,
    work: RoundWork,
    partial: PartialAggregate,
  ): Promise<void> {
    const base = await this.ensureModel(round.baseModelRef);
    if (base === undefined) return;
    if (![...partial.weights.values()].some((w) => w > 0)) return;
    const aggregate = aggregateOfPartial(partial);
    const { ref, aggregateCommitment } = await this.applyAggregate(base, aggregate);
    const weights = round.trainers.map((t) => partial.weights.get(t.toLowerCase()) ?? 0);
    // The circuit's fan-in is PROOF_TRAINERS and the root holds partials, not updates: no proof is claimed.
    const posted = await this.sendIfValid("postAggregate", [
      roundId,
      aggregateCommitment.root,
      ref,
      weights.map(BigInt),
      false,
    ]);
    if (!posted) return;
    work.posted = true;
    const rejected = round.trainers.filter((t) => partial.weights.get(t.toLowerCase()) === 0);
    this.options.events?.onAggregated?.(
      roundId,
      round.trainers.filter((_, i) => weights[i]! > 0),
      rejected,
    );
    this.options.log.info(
      { roundId, depth: work.tree?.plan.depth, included: weights.filter((w) => w > 0).length, modelRef: ref },
      "hierarchical aggregate posted",
    );
  }

  /**
   * The new model `base + decode(aggregate)`, kept and stored for peers to fetch, and the aggregate's
   * commitment. The demo's cheating aggregator biases the aggregate here (and cannot prove it).
   */
  private async applyAggregate(
    base: Float32Array,
    aggregate: Uint16Array,
  ): Promise<{ ref: Hex; aggregateCommitment: UpdateCommitment }> {
    if (this.options.behaviour?.cheatAggregate === true) {
      for (let j = 0; j < aggregate.length; j++) aggregate[j] = Math.min(65_535, aggregate[j]! + 40);
    }
    const delta = decodeFixedPoint(aggregate);
    const next = Float32Array.from(base, (value, i) => value + delta[i]!);
    const ref = this.models.put(next);
    await this.options.store?.saveModel(next);
    return { ref, aggregateCommitment: await commitEncoded(aggregate) };
  }

  private async aggregateAndPost(roundId: bigint, round: RoundView, work: RoundWork): Promise<void> {
    const base = await this.ensureModel(round.baseModelRef);
    if (base === undefined) return;
    const n = round.trainers.length;
    const zero = encodeFixedPoint(new Float32Array(this.paramSize));
    const present = round.trainers.map((t) => work.received.get(t.toLowerCase()));
    const screened = this.screen(
      round,
      work,
      round.trainers.map((t) => t.toLowerCase()),
    );
    if (screened.size === 0) return;
    const weights = round.trainers.map((t) => screened.get(t.toLowerCase()) ?? 0);
    const rejected = round.trainers.filter((t) => screened.get(t.toLowerCase()) === 0);
    if (weights.every((w) => w === 0)) return;
    const encoded = present.map((p) => p?.encoded ?? zero);
    const { aggregate } = aggregateFixedPoint(encoded, weights);
    const { ref, aggregateCommitment } = await this.applyAggregate(base, aggregate);
    // The circuit needs every trainer's values: a missing update makes the round unprovable, and so do more
    // trainers than its fan-in or a weight wider than its slots.
    const proven =
      present.every((p) => p !== undefined) && n <= PROOF_TRAINERS && weights.every((w) => w <= MAX_WEIGHT);
    const posted = await this.sendIfValid("postAggregate", [
      roundId,
      aggregateCommitment.root,
      ref,
      weights.map(BigInt),
      proven,
    ]);
    if (!posted) return;
    rememberAggregation(work, { encoded, weights, present, aggregate, aggregateCommitment });
    this.options.events?.onAggregated?.(
      roundId,
      round.trainers.filter((_, i) => weights[i]! > 0),
      rejected,
    );
    this.options.log.info({ roundId, weights, rejected, proven, modelRef: ref }, "aggregate posted");
  }

  private async answer(roundId: bigint, chunk: number, work: RoundWork): Promise<void> {
    const aggregation = work.aggregation;
    if (aggregation === undefined) return;
    const started = performance.now();
    // The demo's lying aggregator proves its biased aggregate from made-up trainer values (every trainer "sent"
    // the aggregate): a valid proof whose statement claims chunk hashes the trainers never committed. The
    // chain accepts it optimistically; the trainers, who hold their updates, dispute it (§5).
    const witness =
      this.options.behaviour?.lieInProof === true
        ? aggregation.encoded.map(() => aggregation.aggregate)
        : aggregation.encoded;
    const proof = await proveChunk(roundId, chunk, witness, aggregation.weights, {
      signal: this.abort.signal,
    });
    const calldata = encodeChunkProofCalldata(proof, aggregation.aggregateCommitment);
    const ms = performance.now() - started;
    work.proofMs = (work.proofMs ?? 0) + ms;
    this.options.events?.onProof?.(roundId, chunk, ms);
    await this.sendIfValid("answerChallenge", [roundId, BigInt(chunk), calldata]);
    this.options.log.info({ roundId, chunk, proofMs: Math.round(ms) }, "challenge answered with a zk proof");
  }

  /** Fetches `ref` from peers (the aggregator first) unless we have it; verifies the hash. */
  async ensureModel(ref: Hex, preferred?: Address): Promise<Float32Array | undefined> {
    const have = this.models.get(ref);
    if (have !== undefined || /^0x0{64}$/.test(ref) || this.fetching.has(ref)) return have;
    this.fetching.add(ref);
    try {
      const stored = await this.options.store?.loadModel(ref, this.paramSize);
      if (stored !== undefined) {
        this.models.put(stored);
        return stored;
      }
      const peers: PeerId[] = [];
      if (preferred !== undefined && preferred.toLowerCase() !== this.operator.toLowerCase()) {
        peers.push(await this.peerOf(preferred).catch(() => undefined as unknown as PeerId));
      }
      for (const admitted of this.options.mesh.admission.admitted())
        peers.push(peerIdFromString(admitted.peerId));
      for (const peer of peers) {
        if (peer === undefined) continue;
        try {
          const bytes = await this.options.mesh.blobs.fetch(
            peer,
            ref.slice(2),
            this.paramSize * 4,
            this.abort.signal,
          );
          const params = bytesToParams(bytes, this.paramSize);
          this.models.put(params);
          await this.options.store?.saveModel(params);
          this.stats.bytesReceived += bytes.length;
          return params;
        } catch {
          // try the next peer
        }
      }
      return undefined;
    } finally {
      this.fetching.delete(ref);
    }
  }

  private async peerOf(operator: Address): Promise<PeerId> {
    const bytes = await this.options.publicClient.readContract({
      address: this.options.contracts.registry,
      abi: stakeRegistryAbi,
      functionName: "peerIdOf",
      args: [operator],
    });
    const peerId = peerIdFromChainBytes(bytes);
    if (peerId === null)
      throw new MeshError("PEER_UNREACHABLE", `operator ${operator} has no valid bound peer ID`);
    return peerIdFromString(peerId);
  }

  private async pendingChallenges(roundId: bigint): Promise<{ chunk: number; answerDeadline: bigint }[]> {
    const logs = await this.options.publicClient.getContractEvents({
      address: this.options.contracts.rounds,
      abi: trainingRoundsAbi,
      eventName: "ChunkChallenged",
      args: { roundId },
      fromBlock: 0n,
    });
    const out: { chunk: number; answerDeadline: bigint }[] = [];
    for (const log of logs) {
      const chunk = log.args.chunkIndex;
      if (chunk === undefined) continue;
      const challenge = await this.options.publicClient.readContract({
        address: this.options.contracts.rounds,
        abi: trainingRoundsAbi,
        functionName: "getChallenge",
        args: [roundId, chunk],
      });
      if (challenge.status === 1)
        out.push({ chunk: Number(chunk), answerDeadline: challenge.answerDeadline });
    }
    return out;
  }

  async readTask(
    blockNumber?: bigint,
  ): Promise<{ modelRef: Hex; numChunks: number; activeRound: bigint; roundCount: bigint }> {
    const task = await this.options.publicClient.readContract({
      address: this.options.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "getTask",
      args: [this.options.taskId],
      blockNumber,
    });
    return {
      modelRef: task.modelRef,
      numChunks: task.numChunks,
      activeRound: task.activeRound,
      roundCount: task.roundCount,
    };
  }

  async readRound(roundId: bigint, blockNumber?: bigint) {
    return this.options.publicClient.readContract({
      address: this.options.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundId],
      blockNumber,
    });
  }

  /**
   * Simulates, then sends, one TrainingRounds call; transactions of this node are serialised (one nonce
   * sequence). Returns false when the call would revert (another node was first, or it is not due yet).
   */
  private sendIfValid(functionName: RoundsWrite, args: readonly unknown[]): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      const { publicClient, wallet, contracts } = this.options;
      try {
        const { request } = await publicClient.simulateContract({
          account: wallet.account,
          address: contracts.rounds,
          abi: trainingRoundsAbi,
          functionName,
          args,
        } as Parameters<typeof publicClient.simulateContract>[0]);
        const hash = await wallet.writeContract(request as Parameters<typeof wallet.writeContract>[0]);
        const receipt = await publicClient.waitForTransactionReceipt({ hash });
        return receipt.status === "success";
      } catch (error) {
        this.options.log.debug({ err: error, functionName }, "chain call skipped");
        return false;
      }
    };
    const next = this.txQueue.then(run, run);
    this.txQueue = next.catch(() => undefined);
    return next;
  }
}

type RoundsWrite =
  | "commitUpdate"
  | "selectAggregator"
  | "postAggregate"
  | "answerChallenge"
  | "resolveUnansweredChallenge"
  | "disputeStatement"
  | "reportMissedAggregation"
  | "finalizeRound";

/** Keeps what answering challenges needs: the trainers' encoded updates, weights and commitments. */
function rememberAggregation(
  work: RoundWork,
  done: {
    encoded: Uint16Array[];
    weights: number[];
    present: readonly ({ commitment: UpdateCommitment } | undefined)[];
    aggregate: Uint16Array;
    aggregateCommitment: UpdateCommitment;
  },
): void {
  work.posted = true;
  work.aggregation = {
    encoded: done.encoded,
    weights: done.weights,
    // A missing trainer makes the round unprovable; its slot is never opened, any commitment fills it.
    commitments: done.present.map((p) => p?.commitment ?? done.aggregateCommitment),
    aggregate: done.aggregate,
    aggregateCommitment: done.aggregateCommitment,
  };
}
