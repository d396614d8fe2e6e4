/**
 * The chain's view of a peer: which operator its peer ID is bound to and whether that operator has the
 * minimum active stake. Answers are cached (positive and negative, with TTLs), concurrent lookups for one
 * peer share one RPC call, and RPC calls are rate-limited, so a flood of unknown peers costs a bounded
 * number of chain requests. A local mirror of the registry's bindings (binding-mirror.ts) answers for peer IDs
 * nobody bound without any chain request: a flood of fresh unstaked identities spends none of the budget, which
 * stays for staked peers. StakeRegistry events (polled by the mirror) invalidate the cache within one polling
 * interval.
 */
import { peerIdFromString } from "@libp2p/peer-id";
import type { Address, Chain, Log, PublicClient, Transport } from "viem";
import { bytesToHex } from "viem";

import { stakeRegistryAbi } from "../../chain/contracts.ts";
import { BindingMirror } from "./binding-mirror.ts";

/** The registry events after which an operator's standing may have changed. */
const STANDING_EVENTS = [
  "Staked",
  "UnstakeRequested",
  "Withdrawn",
  "Slashed",
  "PeerIdBound",
  "PeerIdUnbound",
] as const;

/**
 * How long an active standing is trusted. Registry events (polled every `pollingIntervalMs`) drop an entry as
 * soon as its operator stakes, unstakes, is slashed or rebinds, so the TTL is only the backstop for a missed
 * event. At 60 s it made every node re-read every peer once a minute (1,000 nodes × 6 peers = 100 chain reads
 * per second on a quiet mesh, and the same for every distant gossip author); 5 minutes keeps the backstop
 * while cutting that fivefold.
 */
export const POSITIVE_TTL_MS = 300_000;
/** Each cache entry's TTL is scaled by a random factor in [1 - TTL_JITTER, 1 + TTL_JITTER]. */
const TTL_JITTER = 0.2;

export interface PeerStanding {
  /** Operator bound to the peer ID on chain, or the zero address. */
  readonly operator: Address;
  readonly activeStake: bigint;
  /** Bound and at least the minimum active stake. */
  readonly active: boolean;
  /**
   * The block this answer is as of. A registry event in a later block may change it (and lifts a refusal made on
   * it, refusals.ts); an event in this block or earlier is already in it.
   */
  readonly asOfBlock: bigint;
  /**
   * The answer is the binding mirror's "nobody bound this peer ID", not a chain read: a peer that bound in the
   * last polling interval is not in it yet, so a refusal on it is short.
   */
  readonly fromMirror?: true;
}

/** `operator`'s standing may have changed by a registry event in block `atBlock`. */
export type StandingListener = (operator: Address, atBlock: bigint) => void;

export type StakeLookupErrorCode = "CHAIN_UNAVAILABLE" | "RATE_LIMITED";

/** The chain could not be asked (down, or our own RPC budget is spent): a temporary refusal, not a verdict. */
export class StakeLookupError extends Error {
  override readonly name = "StakeLookupError";
  readonly code: StakeLookupErrorCode;
  constructor(code: StakeLookupErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface StakeOracleOptions {
  readonly client: PublicClient<Transport, Chain>;
  readonly registry: Address;
  /** How long an admitted peer's standing is trusted without events (events refresh it sooner). */
  readonly positiveTtlMs?: number;
  /** How long a refused peer stays refused without a new chain lookup. */
  readonly negativeTtlMs?: number;
  /** Sustained chain lookups per second, and the burst allowed above it. */
  readonly lookupsPerSecond?: number;
  readonly lookupBurst?: number;
  /** Event polling interval on HTTP transports. */
  readonly pollingIntervalMs?: number;
  /** The registry's deployment block: where the binding mirror starts reading events (default 0). */
  readonly fromBlock?: bigint;
  /** Answer unbound peer IDs from the local binding mirror (default true). */
  readonly mirror?: boolean;
  readonly now?: () => number;
}

interface CacheEntry {
  readonly standing: PeerStanding;
  readonly expiresAt: number;
}

const UNBOUND = {
  operator: "0x0000000000000000000000000000000000000000",
  activeStake: 0n,
  active: false,
} as const satisfies Omit<PeerStanding, "asOfBlock">;

/** Multihash bytes of a peer ID as the StakeRegistry stores them (docs/protocol.md §2). */
export function peerIdBytes(peerId: string): `0x${string}` {
  return bytesToHex(peerIdFromString(peerId).toMultihash().bytes);
}

export class StakeOracle {
  private readonly options: Required<
    Omit<StakeOracleOptions, "client" | "registry" | "fromBlock" | "mirror">
  >;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<PeerStanding>>();
  private readonly listeners = new Set<StandingListener>();
  private tokens: number;
  private lastRefill: number;
  private unwatch: (() => void) | undefined;
  private lookups = 0;
  /** The registry's bindings, followed from its events (undefined with `mirror: false`). */
  readonly mirror: BindingMirror | undefined;
  /** Lookups the mirror answered (unbound peer IDs) without a chain request. */
  mirrorAnswers = 0;

  private readonly deps: StakeOracleOptions;

  constructor(deps: StakeOracleOptions) {
    this.deps = deps;
    this.options = {
      positiveTtlMs: deps.positiveTtlMs ?? POSITIVE_TTL_MS,
      negativeTtlMs: deps.negativeTtlMs ?? 30_000,
      lookupsPerSecond: deps.lookupsPerSecond ?? 20,
      lookupBurst: deps.lookupBurst ?? 40,
      pollingIntervalMs: deps.pollingIntervalMs ?? 1_000,
      now: deps.now ?? Date.now,
    };
    this.tokens = this.options.lookupBurst;
    this.lastRefill = this.options.now();
    this.mirror =
      deps.mirror === false
        ? undefined
        : new BindingMirror({
            client: deps.client,
            registry: deps.registry,
            pollingIntervalMs: this.options.pollingIntervalMs,
            ...(deps.fromBlock === undefined ? {} : { fromBlock: deps.fromBlock }),
            onLogs: (logs) => {
              for (const log of logs) this.onLog(log);
            },
            // After a reorg or reset any cached standing may be stale: ask the chain again.
            onResync: () => this.cache.clear(),
          });
  }

  /** Total chain lookups made, for metrics and tests of the rate limit. */
  get lookupCount(): number {
    return this.lookups;
  }

  /** Starts following registry events; each one drops the cached standing of the operator it names. */
  start(): void {
    if (this.unwatch !== undefined) return;
    if (this.mirror !== undefined) {
      // The mirror's poll brings the registry's logs: one poll serves both.
      this.mirror.start();
      const mirror = this.mirror;
      this.unwatch = () => mirror.stop();
      return;
    }
    this.unwatch = this.deps.client.watchContractEvent({
      address: this.deps.registry,
      abi: stakeRegistryAbi,
      pollingInterval: this.options.pollingIntervalMs,
      onLogs: (logs) => {
        for (const log of logs) this.onLog(log);
      },
      onError: () => {
        // The chain being briefly unreachable must not stop the node; viem keeps polling.
      },
    });
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** Called with the operator whose standing may have changed (after its cache entries are dropped). */
  onStandingChange(listener: StandingListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The peer's standing, from cache when fresh; throws StakeLookupError when the chain cannot be asked. */
  async standing(peerId: string): Promise<PeerStanding> {
    const now = this.options.now();
    const cached = this.cache.get(peerId);
    if (cached !== undefined && cached.expiresAt > now) return cached.standing;
    const pending = this.inflight.get(peerId);
    if (pending !== undefined) return pending;
    const mirror = this.mirror;
    if (mirror?.ready === true && mirror.ownerOf(peerIdBytes(peerId)) === undefined) {
      // Unbound as of the last poll: wait for a poll that started after this lookup (shared by every lookup,
      // a few a second in all), so a peer that bound a moment ago is seen. Still unbound: refused from the
      // mirror, at no chain read of its own. If the poll fails, the chain is asked below as before.
      const polled = await mirror.pollAfterNow().then(
        () => true,
        () => false,
      );
      if (polled && mirror.ownerOf(peerIdBytes(peerId)) === undefined) {
        this.mirrorAnswers += 1;
        return { ...UNBOUND, asOfBlock: mirror.syncedBlock ?? 0n, fromMirror: true };
      }
      const started = this.inflight.get(peerId);
      if (started !== undefined) return started;
    }
    if (!this.takeToken(this.options.now())) {
      throw new StakeLookupError("RATE_LIMITED", "too many unknown peers: chain lookup budget exhausted");
    }
    const lookup = this.lookup(peerId).finally(() => this.inflight.delete(peerId));
    this.inflight.set(peerId, lookup);
    return lookup;
  }

  /** Forgets every cached answer for `operator`'s peers. */
  invalidateOperator(operator: Address): void {
    const wanted = operator.toLowerCase();
    for (const [peerId, entry] of this.cache) {
      if (entry.standing.operator.toLowerCase() === wanted) this.cache.delete(peerId);
    }
  }

  invalidatePeer(peerId: string): void {
    this.cache.delete(peerId);
  }

  private async lookup(peerId: string): Promise<PeerStanding> {
    this.lookups += 1;
    let info: { operator: Address; activeStake: bigint; active: boolean };
    let asOfBlock: bigint;
    try {
      // Read at a known block, so a refusal on this answer knows which registry events came after it.
      asOfBlock = await this.deps.client.getBlockNumber({ cacheTime: 0 });
      info = await this.deps.client.readContract({
        address: this.deps.registry,
        abi: stakeRegistryAbi,
        functionName: "nodeInfo",
        args: [peerIdBytes(peerId)],
        blockNumber: asOfBlock,
      });
    } catch (error) {
      throw new StakeLookupError("CHAIN_UNAVAILABLE", "cannot read the StakeRegistry", { cause: error });
    }
    const standing: PeerStanding = {
      operator: info.operator,
      activeStake: info.activeStake,
      active: info.active,
      asOfBlock,
    };
    // Jitter spreads re-reads: entries filled together (a node's formation, a whole bench mesh) would otherwise
    // all expire in the same second and every admitted peer would be re-read in one burst.
    const ttl = standing.active ? this.options.positiveTtlMs : this.options.negativeTtlMs;
    const jitter = 1 - TTL_JITTER + Math.random() * 2 * TTL_JITTER;
    this.cache.set(peerId, { standing, expiresAt: this.options.now() + Math.round(ttl * jitter) });
    return standing;
  }

  private takeToken(now: number): boolean {
    const elapsed = Math.max(0, now - this.lastRefill) / 1000;
    this.tokens = Math.min(this.options.lookupBurst, this.tokens + elapsed * this.options.lookupsPerSecond);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private onLog(log: Log): void {
    const decoded = log as Log & { eventName?: string; args?: { operator?: Address } };
    if (
      decoded.eventName === undefined ||
      !(STANDING_EVENTS as readonly string[]).includes(decoded.eventName)
    )
      return;
    const operator = decoded.args?.operator;
    if (operator === undefined) return;
    this.invalidateOperator(operator);
    // A new binding turns a cached "unbound" answer stale, and that entry names no operator to match.
    if (decoded.eventName === "PeerIdBound") {
      for (const [peerId, entry] of this.cache) if (!entry.standing.active) this.cache.delete(peerId);
    }
    // A pending log has no block yet: it is newer than any answer.
    const atBlock = log.blockNumber ?? BigInt(Number.MAX_SAFE_INTEGER);
    for (const listener of this.listeners) listener(operator, atBlock);
  }
}
