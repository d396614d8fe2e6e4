/**
 * One chain view for the nodes of a process (issue #21, bench:round at 64 nodes and more): every node of a local
 * network polls the same `hardhat node` for the same round, task and registry state, each on its own tick, and at
 * 128 nodes that one process fell behind (a driver's request answered HTTP 408 after a minute, session 9). Reads
 * that are the same call with the same arguments within `ttlMs` of each other are asked once and shared; a read
 * in flight is joined, not repeated. Writes, nonces, receipts, fee data and simulations (an `eth_call` made from
 * an account: a transaction's dry run) always go to the chain.
 *
 * A shared read may be up to `ttlMs` old: the view is for harnesses whose nodes poll every few seconds on a chain
 * that mines a block every half second (the local networks of node/demo), not for a node's own client.
 */
import { createPublicClient, custom } from "viem";
import type { Chain, PublicClient, Transport } from "viem";

/** The reads that are shared: state and blocks as of a block or of the head, identical for every asker. */
const SHARED_METHODS = new Set([
  "eth_call",
  "eth_blockNumber",
  "eth_getBlockByNumber",
  "eth_getBlockByHash",
  "eth_getLogs",
  "eth_getCode",
  "eth_chainId",
]);
/** Shared answers kept at most: past it, the expired ones are dropped (a round's polls repeat a few dozen calls). */
const MAX_ENTRIES = 4_096;

export interface SharedReadStats {
  /** Reads sent to the chain. */
  asked: number;
  /** Reads answered from a shared answer (or joined to one in flight). */
  shared: number;
}

interface Entry {
  readonly at: number;
  readonly answer: Promise<unknown>;
}

/** A client of `client`'s chain whose identical reads within `ttlMs` are asked once (see the module comment). */
export function sharedReads(
  client: PublicClient<Transport, Chain>,
  ttlMs: number,
): { client: PublicClient<Transport, Chain>; stats: SharedReadStats } {
  const entries = new Map<string, Entry>();
  const stats: SharedReadStats = { asked: 0, shared: 0 };
  const ask = (method: string, params: unknown): Promise<unknown> => {
    stats.asked += 1;
    return client.request({ method, params } as Parameters<typeof client.request>[0]);
  };
  const shared = interceptRequests(client, async (method, params) => {
    if (!SHARED_METHODS.has(method) || fromAnAccount(method, params)) return ask(method, params);
    const key = `${method}:${JSON.stringify(params ?? [])}`;
    const now = Date.now();
    const held = entries.get(key);
    if (held !== undefined && now - held.at < ttlMs) {
      stats.shared += 1;
      return held.answer;
    }
    if (entries.size >= MAX_ENTRIES) for (const [k, e] of entries) if (now - e.at >= ttlMs) entries.delete(k);
    const entry: Entry = { at: now, answer: ask(method, params) };
    entries.set(key, entry);
    // A failed read is not shared: the next asker tries again.
    entry.answer.catch(() => {
      if (entries.get(key) === entry) entries.delete(key);
    });
    return entry.answer;
  });
  return { client: shared, stats };
}

/**
 * A client of `client`'s chain whose every JSON-RPC request goes through `request` (which may forward it to
 * `client.request`), with `client`'s own timings: viem's default for a custom transport (4 s) polled each
 * transaction's receipt 16 times slower than the nodes' own client (250 ms), and a 64-node round failed its
 * selection window.
 */
export function interceptRequests(
  client: PublicClient<Transport, Chain>,
  request: (method: string, params: unknown) => Promise<unknown>,
): PublicClient<Transport, Chain> {
  return createPublicClient({
    chain: client.chain,
    pollingInterval: client.pollingInterval,
    cacheTime: client.cacheTime,
    transport: custom({
      request: ({ method, params }: { method: string; params?: unknown }) => request(method, params),
    }),
  });
}

/** Whether an `eth_call` names a sender: a transaction's simulation, which must see the chain as it is now. */
function fromAnAccount(method: string, params: unknown): boolean {
  if (method !== "eth_call" || !Array.isArray(params)) return false;
  const call: unknown = params[0];
  return typeof call === "object" && call !== null && "from" in call && call.from !== undefined;
}
