/**
 * The running node's capacity duties, in one place so node/runtime/vain-node.ts only constructs and starts it:
 * - measure our own speed at start (the attestation workload, in the worker) and advertise it as our claim;
 * - publish our signed capacity record on `/vain/1/capacity` at start and whenever a verifier gives us a receipt;
 * - attest a few random admitted peers now and then (jittered, low rate) and turn what we measured into
 *   reputation (a wrong result or a gross over-claim lowers it);
 * - keep the peers' records (CapacityBook) for the round protocol, dropping peers that leave or are evicted;
 * - decide the default aggregator opt-in from capacity, reputation and the operator's limits;
 * - export Prometheus metrics and a status snapshot.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

import type { PeerId, PrivateKey } from "@libp2p/interface";
import type { Logger } from "pino";
import { Counter, Gauge } from "prom-client";
import type { Registry } from "prom-client";

import type { AttestationOutcome, CapabilityAttestor } from "../p2p/attest/index.ts";
import { CapacityTopic } from "../p2p/capacity-topic.ts";
import type { CapacityAdvert } from "../p2p/capacity-topic.ts";
import type { Mesh } from "../p2p/mesh.ts";
import type { ResolvedLimits } from "../resources/limits.ts";
import type { Operator, ReputationBook, ReputationEvent } from "../reputation/index.ts";
import { CapacityBook } from "../scheduling/capacity-book.ts";
import type { CapacitySource, NodeCapacity } from "../scheduling/capacity-book.ts";
import type { SignedCapacityRecord } from "../scheduling/capacity-records.ts";
import { shouldOptInAsAggregator } from "../scheduling/opt-in.ts";
import type { OptInDecision } from "../scheduling/opt-in.ts";

/** Period between attestation sweeps: rare, because each costs a peer ~1 s of CPU. Jittered ±50%. */
export const ATTEST_INTERVAL_MS = 10 * 60_000;
/** Peers attested per sweep: a few receipts per node per hour from different verifiers suffice for a median. */
export const ATTEST_PEERS_PER_SWEEP = 2;
/** The first sweep waits this long (jittered) so the mesh and the peers' records are in place. */
export const ATTEST_FIRST_DELAY_MS = 30_000;
/**
 * A 99th-percentile event-loop delay above this means timings taken now would be wrong: attestations pass through
 * the main thread on both sides, so a loop that keeps stalling (a commitment being hashed, a model decoded) makes a
 * prover look slow. A single short stall (a resource sample) costs a ~1 s workload little and is tolerated.
 */
export const BUSY_LOOP_LAG_MS = 100;
/**
 * A peer that was busy (it refused: training or loaded), or whose stream failed or timed out (on a loaded
 * machine a busy peer's stream is closed before it answers), is tried again this much later, up to
 * `ATTEST_BUSY_RETRIES` times, instead of waiting a whole sweep interval: busy is "later", not "unreachable".
 */
export const ATTEST_BUSY_RETRY_MS = 15_000;
export const ATTEST_BUSY_RETRIES = 3;
/** Outcomes that mean "try later", not a verdict on the peer. */
const RETRY_LATER = new Set<AttestationOutcome["status"]>(["refused", "unreachable", "timeout"]);
/** Window of the event-loop lag watch. */
const LAG_WINDOW_MS = 5_000;
/** Receipts arriving close together are published in one record. */
const REPUBLISH_DEBOUNCE_MS = 500;
/** After a peer is admitted: time for its topic subscriptions to arrive before our record is re-published. */
const REPUBLISH_AFTER_ADMISSION_MS = 3_000;

export interface CapacityManagerOptions {
  readonly mesh: Mesh;
  readonly reputation: ReputationBook;
  readonly limits: ResolvedLimits;
  readonly privateKey: PrivateKey;
  readonly operator: Operator;
  readonly log: Logger;
  readonly metrics?: Registry;
  readonly attestIntervalMs?: number;
  readonly attestFirstDelayMs?: number;
  readonly attestPeersPerSweep?: number;
  /**
   * How peers are attested, each in turn per swept peer (default: the mesh's software benchmark). A TPM or
   * TEE verifier plugs in here (`CapabilityAttestor`).
   */
  readonly attestors?: readonly CapabilityAttestor[];
  /** Whether local training is running (the prover refuses challenges meanwhile). */
  readonly isTraining?: () => boolean;
  /** Off: never challenge others (still answers challenges and publishes its record). */
  readonly attest?: boolean;
  readonly republishIntervalMs?: number;
  /** Our training data's fingerprint (node/runtime/data-fingerprint.ts); undefined when the node does not train. */
  readonly dataFingerprint?: string;
}

/** What the status API shows about capacity. */
export interface CapacityStatus {
  readonly ownSamplesPerSec?: number;
  /** Median of the receipts other nodes gave us (what scheduling will use), when there are any. */
  readonly attestedSamplesPerSec?: number;
  readonly receipts: number;
  readonly lowPower: boolean;
  readonly aggregator?: OptInDecision;
  readonly peers: readonly { readonly peerId: string; readonly capacity: NodeCapacity }[];
  readonly recentAttestations: readonly {
    readonly peerId: string;
    readonly status: AttestationOutcome["status"];
    readonly samplesPerSec?: number;
    readonly atMs: number;
  }[];
}

/** The reputation event a verifier's measurement implies, if any (network trouble and refusals imply none). */
export function reputationEventFor(
  outcome: AttestationOutcome,
  operator: Operator,
): ReputationEvent | undefined {
  switch (outcome.status) {
    case "passed":
      return { kind: "attestation-passed", operator };
    case "overclaim":
      return { kind: "attestation-overclaim", operator };
    case "wrong-result":
    case "too-fast":
    case "malformed":
      return { kind: "attestation-failed", operator };
    default:
      return undefined;
  }
}

function median(values: readonly number[]): number | undefined {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return undefined;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

export class CapacityManager implements CapacitySource {
  readonly book: CapacityBook;
  private readonly options: CapacityManagerOptions;
  private topic: CapacityTopic | undefined;
  private readonly sharedData = new Set<string>();
  private sweepTimer: ReturnType<typeof setTimeout> | undefined;
  private republishTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly controller = new AbortController();
  private readonly recent: CapacityStatus["recentAttestations"][number][] = [];
  private optIn: OptInDecision | undefined;
  private readonly detach: (() => void)[] = [];
  private readonly lag = monitorEventLoopDelay({ resolution: 20 });
  private lagTimer: ReturnType<typeof setInterval> | undefined;
  /** Peers to attest again soon (they were busy), with the retries left. */
  private readonly retries = new Map<string, { timer: ReturnType<typeof setTimeout>; left: number }>();
  private lastWindowP99Ms = 0;
  private readonly outcomes: Counter<"status"> | undefined;
  private readonly gauges:
    | { own: Gauge; attested: Gauge; receipts: Gauge; records: Gauge; served: Gauge; refused: Gauge }
    | undefined;

  constructor(options: CapacityManagerOptions) {
    this.options = options;
    const mesh = options.mesh;
    this.book = new CapacityBook({
      // Our own receipts and those of staked peers count (a receipt about the record's own node never does).
      isTrustedVerifier: async (verifier) =>
        verifier === mesh.peerId.toString() ||
        mesh.admission.isAdmitted(verifier) ||
        (await mesh.oracle.standing(verifier).catch(() => ({ active: false }))).active,
    });
    const registers = options.metrics === undefined ? undefined : [options.metrics];
    if (registers !== undefined) {
      this.outcomes = new Counter({
        name: "vain_attestations_total",
        help: "Attestations this node ran as verifier, by outcome",
        labelNames: ["status"],
        registers,
      });
      const gauge = (name: string, help: string): Gauge => new Gauge({ name, help, registers });
      this.gauges = {
        own: gauge(
          "vain_capacity_own_samples_per_second",
          "Own attestation-workload speed, measured locally",
        ),
        attested: gauge(
          "vain_capacity_attested_samples_per_second",
          "Median speed other nodes measured for us (0: not attested yet)",
        ),
        receipts: gauge("vain_capacity_receipts", "Attestation receipts in our capacity record"),
        records: gauge("vain_capacity_records", "Valid capacity records held for peers"),
        served: gauge("vain_attestation_challenges_served", "Challenges this node answered"),
        refused: gauge(
          "vain_attestation_challenges_refused",
          "Challenges refused (rate limit, size, garbage)",
        ),
      };
    }
  }

  /** Measures our speed, publishes our record and starts the attestation sweeps. */
  async start(): Promise<void> {
    const { mesh, log } = this.options;
    this.lag.enable();
    this.lagTimer = setInterval(() => {
      this.lastWindowP99Ms = this.lag.percentile(99) / 1e6;
      this.lag.reset();
    }, LAG_WINDOW_MS);
    this.lagTimer.unref();
    const own = await mesh.attestation.measureLocal({ signal: this.controller.signal });
    this.book.setOwnSamplesPerSec(own);
    log.info({ samplesPerSec: Math.round(own) }, "local capacity measured");
    this.topic = new CapacityTopic({
      gossip: mesh.gossip,
      book: this.book,
      privateKey: this.options.privateKey,
      operator: this.options.operator,
      advert: () => this.advert(),
      republishIntervalMs: this.options.republishIntervalMs,
      log,
      onRecord: (record) => this.checkSharedData(record),
    });
    this.topic.start();
    const onReceipt = (): void => this.scheduleRepublish();
    const onAttested = (event: CustomEvent<AttestationOutcome>): void => this.onAttested(event.detail);
    const onEvicted = (): void => void this.book.prune((p) => mesh.admission.isAdmitted(p));
    // A newly admitted peer has not heard our record (gossip is not replayed): publish it again shortly.
    const onAdmitted = (): void => this.scheduleRepublish(REPUBLISH_AFTER_ADMISSION_MS);
    mesh.attestation.addEventListener("receipt", onReceipt);
    mesh.attestation.addEventListener("attested", onAttested);
    mesh.admission.addEventListener("evicted", onEvicted);
    mesh.admission.addEventListener("admitted", onAdmitted);
    this.detach.push(
      () => mesh.attestation.removeEventListener("receipt", onReceipt),
      () => mesh.attestation.removeEventListener("attested", onAttested),
      () => mesh.admission.removeEventListener("evicted", onEvicted),
      () => mesh.admission.removeEventListener("admitted", onAdmitted),
    );
    await this.topic
      .publish()
      .catch((error: unknown) => log.debug({ err: error }, "capacity publish failed"));
    if (this.options.attest !== false) {
      this.scheduleSweep(
        this.options.attestFirstDelayMs ??
          Math.min(ATTEST_FIRST_DELAY_MS, this.options.attestIntervalMs ?? ATTEST_INTERVAL_MS),
      );
    }
    this.refreshMetrics();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    clearInterval(this.lagTimer);
    this.lag.disable();
    clearTimeout(this.sweepTimer);
    clearTimeout(this.republishTimer);
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    this.retries.clear();
    for (const d of this.detach.splice(0)) d();
    this.topic?.stop();
  }

  capacityOf(peerIdOrOperator: string): NodeCapacity | undefined {
    return this.book.capacityOf(peerIdOrOperator);
  }

  ownSamplesPerSec(): number | undefined {
    return this.book.ownSamplesPerSec();
  }

  /** Median speed other nodes measured for us (what the mesh will believe), when any receipt is held. */
  attestedOwnSamplesPerSec(): number | undefined {
    const claim = this.ownSamplesPerSec();
    const m = median(this.options.mesh.attestation.receipts().map((r) => r.samplesPerSec));
    return m === undefined || claim === undefined ? m : Math.min(m, claim);
  }

  /**
   * The default aggregator opt-in: `shouldOptInAsAggregator` with our attested speed (our local measurement until
   * someone attested us), the mesh median, our own standing in our reputation book and the operator's limits.
   */
  decideAggregatorOptIn(): OptInDecision {
    if (this.ownSamplesPerSec() === undefined) return { optIn: false, reason: "capacity not measured yet" };
    const own = this.attestedOwnSamplesPerSec() ?? this.ownSamplesPerSec() ?? 0;
    const decision = shouldOptInAsAggregator({
      limits: this.options.limits,
      reputation: this.options.reputation.score(this.options.operator),
      samplesPerSec: own,
      meshMedianSamplesPerSec: this.book.medianAttestedSamplesPerSec() ?? own,
    });
    return decision;
  }

  /** Records the opt-in the node applied (decided or set by the operator) and advertises it. */
  async setAggregatorOptIn(decision: OptInDecision): Promise<void> {
    this.optIn = decision;
    await this.republish();
  }

  /** The event loop stalled recently (this or the last lag window): timings taken now would be skewed. */
  loopLagging(): boolean {
    const current = this.lag.count > 0 ? this.lag.percentile(99) / 1e6 : 0;
    return Math.max(this.lastWindowP99Ms, current) > BUSY_LOOP_LAG_MS;
  }

  /** Too busy to be measured fairly: training, or the event loop lagging. Challenges are refused meanwhile. */
  busy(): boolean {
    return this.options.isTraining?.() === true || this.loopLagging();
  }

  /**
   * Attests up to `count` random admitted peers now; resolves with the outcomes. Skipped (empty) while our own
   * event loop lags: our clock would blame the peer for our stall.
   */
  async sweep(
    count = this.options.attestPeersPerSweep ?? ATTEST_PEERS_PER_SWEEP,
  ): Promise<AttestationOutcome[]> {
    const { mesh } = this.options;
    if (this.loopLagging()) {
      this.options.log.debug("attestation sweep skipped: event loop lagging");
      return [];
    }
    const peers = mesh.admission.admitted();
    for (let i = peers.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [peers[i], peers[j]] = [peers[j]!, peers[i]!];
    }
    const outcomes: AttestationOutcome[] = [];
    for (const peer of peers.slice(0, count)) {
      if (this.controller.signal.aborted) break;
      const target = mesh.libp2p.getPeers().find((p) => p.toString() === peer.peerId);
      if (target === undefined) continue;
      outcomes.push(...(await this.attestPeer(target)));
    }
    this.book.prune((p) => mesh.admission.isAdmitted(p));
    this.refreshMetrics();
    return outcomes;
  }

  status(): CapacityStatus {
    const own = this.ownSamplesPerSec();
    const attested = this.attestedOwnSamplesPerSec();
    return {
      ...(own === undefined ? {} : { ownSamplesPerSec: own }),
      ...(attested === undefined ? {} : { attestedSamplesPerSec: attested }),
      receipts: this.options.mesh.attestation.receipts().length,
      lowPower: this.options.limits.profile === "low-power",
      ...(this.optIn === undefined ? {} : { aggregator: this.optIn }),
      peers: this.book.entries().map((e) => ({ peerId: e.peerId, capacity: e.capacity })),
      recentAttestations: [...this.recent],
    };
  }

  /** Our current advert: claim from the local measurement, receipts, profile and opt-in. */
  private advert(): CapacityAdvert | undefined {
    const own = this.ownSamplesPerSec();
    if (own === undefined) return undefined;
    const { limits, mesh } = this.options;
    return {
      claimed: {
        samplesPerSec: own,
        threads: limits.cpuThreads,
        memoryBytes: limits.memoryBytes,
        // Unlimited bandwidth is advertised as 1 GiB/s: JSON has no Infinity.
        bandwidthBytesPerSec: Number.isFinite(limits.bandwidthBytesPerSec)
          ? limits.bandwidthBytesPerSec
          : 2 ** 30,
      },
      aggregatorOptIn: this.optIn?.optIn ?? false,
      lowPower: limits.profile === "low-power",
      receipts: mesh.attestation.receipts(),
      ...(this.options.dataFingerprint === undefined
        ? {}
        : { dataFingerprint: this.options.dataFingerprint }),
    };
  }

  /**
   * A peer that advertises our data fingerprint trains the same data as we do: its updates add nothing the
   * round does not already have from us (and the default shard check at start cannot see an explicit shard
   * given to two nodes). Said once per peer, as a warning the operator can act on.
   */
  private checkSharedData(record: SignedCapacityRecord): void {
    const own = this.options.dataFingerprint;
    if (own === undefined || record.dataFingerprint !== own) return;
    if (record.peerId === this.options.mesh.peerId.toString() || this.sharedData.has(record.peerId)) return;
    this.sharedData.add(record.peerId);
    this.options.log.warn(
      { check: "SAME_DATA_AS_PEER", peerId: record.peerId, operator: record.operator, dataFingerprint: own },
      `peer ${record.peerId}${record.operator === undefined ? "" : ` (operator ${record.operator})`} trains the same data as this node (fingerprint ${own}): give each node its own shard (config "data": { "shard": i, "shards": n }, or \`vain-node init --shard i --shards n\`)`,
    );
  }

  /** Peers seen training our data (peer IDs), for the status API and tests. */
  sharedDataPeers(): readonly string[] {
    return [...this.sharedData];
  }

  /** Re-publishes with a new opt-in decision (the runtime calls it after applying the decision on chain). */
  async republish(): Promise<void> {
    await this.topic?.publish();
    this.refreshMetrics();
  }

  private scheduleRepublish(delayMs = REPUBLISH_DEBOUNCE_MS): void {
    if (this.republishTimer !== undefined) return;
    this.republishTimer = setTimeout(() => {
      this.republishTimer = undefined;
      void this.republish().catch((error: unknown) =>
        this.options.log.debug({ err: error }, "capacity publish failed"),
      );
    }, delayMs);
    this.republishTimer.unref();
  }

  /** Runs every attestor on one peer; a busy or unreachable outcome schedules a retry of that peer. */
  private async attestPeer(target: PeerId): Promise<AttestationOutcome[]> {
    const outcomes: AttestationOutcome[] = [];
    for (const attestor of this.options.attestors ?? [this.options.mesh.attestation]) {
      if (this.controller.signal.aborted) break;
      outcomes.push(await attestor.attest(target, { signal: this.controller.signal }));
    }
    const key = target.toString();
    const previous = this.retries.get(key);
    if (outcomes.some((o) => RETRY_LATER.has(o.status))) {
      const left = (previous?.left ?? ATTEST_BUSY_RETRIES) - 1;
      if (left >= 0 && !this.controller.signal.aborted) {
        const timer = setTimeout(
          () => {
            if (this.loopLagging() || !this.options.mesh.admission.isAdmitted(key)) return;
            void this.attestPeer(target).catch((error: unknown) =>
              this.options.log.debug({ err: error }, "attestation retry failed"),
            );
          },
          ATTEST_BUSY_RETRY_MS * (0.5 + Math.random()),
        );
        timer.unref();
        this.retries.set(key, { timer, left });
        this.options.log.debug(
          { peerId: key, retriesLeft: left },
          "peer busy or unreachable: attesting it again later",
        );
      } else this.retries.delete(key);
    } else this.retries.delete(key);
    return outcomes;
  }

  private scheduleSweep(baseMs: number): void {
    if (this.controller.signal.aborted) return;
    const delay = baseMs * (0.5 + Math.random());
    this.sweepTimer = setTimeout(() => {
      void this.sweep()
        .catch((error: unknown) => this.options.log.warn({ err: error }, "attestation sweep failed"))
        .finally(() => this.scheduleSweep(this.options.attestIntervalMs ?? ATTEST_INTERVAL_MS));
    }, delay);
    this.sweepTimer.unref();
  }

  private onAttested(outcome: AttestationOutcome): void {
    const { mesh, reputation, log } = this.options;
    this.outcomes?.inc({ status: outcome.status });
    this.recent.unshift({
      peerId: outcome.peerId,
      status: outcome.status,
      ...("measuredSamplesPerSec" in outcome ? { samplesPerSec: outcome.measuredSamplesPerSec } : {}),
      atMs: Date.now(),
    });
    this.recent.length = Math.min(this.recent.length, 20);
    const operator = mesh.admission.peer(outcome.peerId)?.operator;
    const event =
      operator === undefined ? undefined : reputationEventFor(outcome, operator.toLowerCase() as Operator);
    if (event !== undefined) reputation.apply(event);
    const level = event?.kind === "attestation-passed" || event === undefined ? "debug" : "warn";
    log[level]({ ...outcome, operator }, "attestation");
  }

  private refreshMetrics(): void {
    if (this.gauges === undefined) return;
    const { mesh } = this.options;
    this.gauges.own.set(this.ownSamplesPerSec() ?? 0);
    this.gauges.attested.set(this.attestedOwnSamplesPerSec() ?? 0);
    this.gauges.receipts.set(mesh.attestation.receipts().length);
    this.gauges.records.set(this.book.size);
    this.gauges.served.set(mesh.attestation.counters.challengesServed);
    this.gauges.refused.set(mesh.attestation.counters.challengesRefused);
  }
}
