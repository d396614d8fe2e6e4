/**
 * A local mirror of the StakeRegistry's peer-ID bindings, built from its `PeerIdBound`/`PeerIdUnbound` events.
 * Binding needs the minimum active stake (StakeRegistry.bindPeerId), so the bound set is as large as the
 * staked operators and no larger: a peer ID the mirror does not hold is unbound as of the mirror's last block,
 * and the stake oracle can say so without a chain read. Under a flood of fresh unstaked identities that keeps
 * the oracle's RPC budget for the peers that can be admitted (issue #19: the flood used up the 20 lookups/s
 * and delayed staked newcomers).
 *
 * One poll per interval: the head block (one call); when it moved, the logs since the last synced block (one
 * call) after checking that block's hash is unchanged (one call). A head below the synced block or a changed
 * hash (a reorg, a reset development chain) rebuilds the mirror from `fromBlock`. Every registry log seen
 * live is handed on (`onLogs`), so the oracle's cache invalidation rides on the same poll.
 */
import type { Address, Chain, Hex, Log, PublicClient, Transport } from "viem";

import { stakeRegistryAbi } from "../../chain/contracts.ts";

export interface BindingMirrorOptions {
  readonly client: PublicClient<Transport, Chain>;
  readonly registry: Address;
  /** First block to read events from (the registry's deployment block; 0 scans the whole chain). */
  readonly fromBlock?: bigint;
  readonly pollingIntervalMs: number;
  /** Registry logs seen live (not during a rebuild), decoded, in chain order. */
  readonly onLogs?: (logs: readonly Log[]) => void;
  /** Called after a rebuild (start, reorg, reset): anything derived from earlier logs may be stale. */
  readonly onResync?: () => void;
}

/** Least time between two polls asked for by lookups (`pollAfterNow`): at most 4 head reads a second. */
const FRESH_POLL_INTERVAL_MS = 250;
/** Blocks per log request: common public RPC endpoints refuse `eth_getLogs` over 10,000 blocks. */
const LOG_RANGE_BLOCKS = 10_000n;

interface Synced {
  readonly number: bigint;
  readonly hash: Hex;
}

type RegistryLog = Log & { eventName?: string; args?: { operator?: Address; peerId?: Hex } };

export class BindingMirror {
  /** Peer ID multihash bytes (lower-case hex) → operator. */
  private readonly owners = new Map<string, Address>();
  private readonly options: BindingMirrorOptions;
  private synced: Synced | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  /** The poll under way (polls never overlap: logs are applied in order). */
  private current: Promise<void> | undefined;
  /** The next poll promised to callers of `pollAfterNow`. */
  private queued: Promise<void> | undefined;
  private lastStartMs = Number.NEGATIVE_INFINITY;
  /** Rebuilds from `fromBlock` (the first sync included). */
  resyncs = 0;
  /** Polls made (each one to three chain requests). */
  polls = 0;

  constructor(options: BindingMirrorOptions) {
    this.options = options;
  }

  /** True once the mirror has synced at least once (before that it answers nothing). */
  get ready(): boolean {
    return this.synced !== undefined;
  }

  /** The block the mirror is synced to. */
  get syncedBlock(): bigint | undefined {
    return this.synced?.number;
  }

  get size(): number {
    return this.owners.size;
  }

  /** The operator `peerIdHex` is bound to as of the synced block; undefined when unbound or not synced. */
  ownerOf(peerIdHex: Hex): Address | undefined {
    return this.owners.get(peerIdHex.toLowerCase());
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Resolves after a poll that started after this call, so the mirror has every block mined before it: the
   * oracle asks for one before it refuses a peer ID as unbound (a peer that bound a moment ago and dials at once
   * is not refused on a stale mirror). Callers share polls, at most one per `FRESH_POLL_INTERVAL_MS`, so a flood
   * of unknown identities costs a few head reads a second in all, not one per identity.
   */
  pollAfterNow(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const queued = (async () => {
      await this.current?.catch(() => undefined);
      const waitMs = this.lastStartMs + FRESH_POLL_INTERVAL_MS - Date.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      // Callers from now on need a poll that starts after them: the next one.
      this.queued = undefined;
      await this.poll();
    })();
    this.queued = queued;
    return queued;
  }

  /** One poll now, after the one under way (tests, and the polling loop). */
  async poll(): Promise<void> {
    // A loop, not one wait: two callers waiting on the same poll must not then start two at once.
    while (this.current !== undefined) await this.current.catch(() => undefined);
    this.lastStartMs = Date.now();
    this.polls += 1;
    const current = this.pollOnce();
    this.current = current;
    try {
      await current;
    } finally {
      if (this.current === current) this.current = undefined;
    }
  }

  private async pollOnce(): Promise<void> {
    const { client } = this.options;
    const head = await client.getBlock({ blockTag: "latest" });
    if (head.hash === null || head.number === null) return;
    const synced = this.synced;
    if (synced !== undefined && head.number === synced.number && head.hash === synced.hash) return;
    if (synced === undefined || head.number < synced.number) {
      await this.rebuild({ number: head.number, hash: head.hash });
      return;
    }
    // The next block names its parent: the common case needs no second call to check continuity.
    const continues =
      head.number === synced.number + 1n
        ? head.parentHash === synced.hash
        : head.number !== synced.number &&
          (await client.getBlock({ blockNumber: synced.number })).hash === synced.hash;
    if (!continues) {
      await this.rebuild({ number: head.number, hash: head.hash });
      return;
    }
    const logs = await this.logs(synced.number + 1n, head.number);
    for (const log of logs) this.apply(log);
    this.synced = { number: head.number, hash: head.hash };
    if (logs.length > 0) this.options.onLogs?.(logs);
  }

  private async loop(): Promise<void> {
    try {
      await this.poll();
    } catch {
      // The chain being briefly unreachable must not stop the node: the mirror stays as it was and retries.
    }
    if (!this.running) return;
    this.timer = setTimeout(() => void this.loop(), this.options.pollingIntervalMs);
    this.timer.unref();
  }

  private async rebuild(head: Synced): Promise<void> {
    const logs = await this.logs(this.options.fromBlock ?? 0n, head.number);
    this.owners.clear();
    for (const log of logs) this.apply(log);
    this.synced = head;
    this.resyncs += 1;
    this.options.onResync?.();
  }

  /** The registry's logs in `[fromBlock, toBlock]`, in ranges public RPC endpoints accept. */
  private async logs(fromBlock: bigint, toBlock: bigint): Promise<RegistryLog[]> {
    const out: RegistryLog[] = [];
    for (let start = fromBlock; start <= toBlock; start += LOG_RANGE_BLOCKS) {
      const end = start + LOG_RANGE_BLOCKS - 1n < toBlock ? start + LOG_RANGE_BLOCKS - 1n : toBlock;
      const logs = (await this.options.client.getContractEvents({
        address: this.options.registry,
        abi: stakeRegistryAbi,
        fromBlock: start,
        toBlock: end,
      })) as RegistryLog[];
      out.push(...logs);
    }
    return out;
  }

  private apply(log: RegistryLog): void {
    const operator = log.args?.operator;
    const peerId = log.args?.peerId?.toLowerCase();
    if (operator === undefined || peerId === undefined) return;
    if (log.eventName === "PeerIdBound") this.owners.set(peerId, operator);
    else if (
      log.eventName === "PeerIdUnbound" &&
      this.owners.get(peerId)?.toLowerCase() === operator.toLowerCase()
    )
      this.owners.delete(peerId);
  }
}
