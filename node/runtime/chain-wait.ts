/**
 * Start-up while the chain is down: a node started during an RPC outage (a reboot while the chain's host is still
 * coming up, a supervisor restarting it in the middle of a network cut) waits for the chain instead of exiting.
 * Exiting turned a passing outage into a crash loop under a supervisor and a dead node without one (the soak's
 * nodes restarted during its 30 s outage exited 2, five crashes in one run). Only "the endpoint did not answer"
 * is waited out; a chain that answers "no" (another chain ID, a stale deployment, a bad URL) still fails at
 * once, as the operator must fix it.
 */
import type { Logger } from "pino";
import { BaseError, zeroAddress } from "viem";
import type { Account, Address } from "viem";

import { MemoryStatusSource } from "../api/memory-source.ts";
import { createStatusServer } from "../api/server.ts";
import type { StatusServer } from "../api/server.ts";
import { connectChain } from "../chain/clients.ts";
import type { ChainClients } from "../chain/clients.ts";
import { loadDeployment } from "../chain/deployment.ts";
import type { Deployment } from "../chain/deployment.ts";
import { isTransportError } from "../chain/transport-retry.ts";
import type { NodeConfig } from "../config/config.ts";

/** The alert a node waiting for its chain serves (`/ready` false, the dashboard's banner). */
export const CHAIN_UNREACHABLE_ALERT = "CHAIN_UNREACHABLE";

/** First pause after a failed attempt (ms): an endpoint that is just restarting answers within a second or two. */
export const CHAIN_WAIT_FIRST_DELAY_MS = 1_000;
/**
 * Longest pause between attempts (ms): the node joins at most this long after the chain is back, and an outage of
 * hours costs four requests a minute.
 */
export const CHAIN_WAIT_MAX_DELAY_MS = 15_000;

export interface ChainWaitOptions {
  readonly rpcUrl: string;
  readonly log: Logger;
  /** Aborted when the node is stopped while waiting: the wait ends with the last error. */
  readonly signal?: AbortSignal;
  /** Called once, at the first failed attempt (the node then serves `/ready` false with this message). */
  readonly onWaiting?: (message: string) => void;
  /** What is waiting (for the log): "start-up", "the chain-reset watch", ... */
  readonly what?: string;
  readonly firstDelayMs?: number;
  readonly maxDelayMs?: number;
}

const reasonOf = (error: unknown): string =>
  error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error);

/** Resolves when `delayMs` passed; rejects at once when `signal` aborts. */
function pause(delayMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, delayMs);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds or fails with anything but a transport error; between attempts it logs that the
 * node waits for the chain (a warning the node's log limiter turns into one line a minute) and backs off from
 * `firstDelayMs` to `maxDelayMs`.
 */
export async function waitForChain<T>(attempt: () => Promise<T>, options: ChainWaitOptions): Promise<T> {
  const { rpcUrl, log, signal } = options;
  const maxDelay = options.maxDelayMs ?? CHAIN_WAIT_MAX_DELAY_MS;
  let delay = options.firstDelayMs ?? CHAIN_WAIT_FIRST_DELAY_MS;
  let since: number | undefined;
  for (let tries = 1; ; tries++) {
    try {
      const result = await attempt();
      if (since !== undefined)
        log.info(
          { rpcUrl, waitedMs: Date.now() - since, attempts: tries },
          `the chain at ${rpcUrl} answers again: ${options.what ?? "start-up"} goes on`,
        );
      return result;
    } catch (error) {
      if (!isTransportError(error) || signal?.aborted === true) throw error;
      const message = `cannot reach the chain at ${rpcUrl}: waiting for it (${options.what ?? "start-up"} paused, not ready; retrying every ${Math.round(maxDelay / 1000)} s at most; stop with Ctrl-C)`;
      if (since === undefined) {
        since = Date.now();
        options.onWaiting?.(message);
      }
      log.warn({ rpcUrl, attempt: tries, reason: reasonOf(error) }, message);
      await pause(delay, signal);
      delay = Math.min(delay * 2, maxDelay);
    }
  }
}

export interface WaitingStatusOptions {
  readonly port: number;
  readonly version: string;
  readonly peerId: string;
  readonly operator: Address;
  readonly rpcUrl: string;
  readonly message: string;
  readonly uiDir?: string;
}

/**
 * The status API of a node still waiting for its chain: `/health` answers, `/ready` is 503 and `/api/status` names
 * the `CHAIN_UNREACHABLE` alert, so a supervisor or load balancer sees a live process that is not ready (rather
 * than no process). Chain ID and contracts are unknown yet (0 and the zero address). The node stops it and starts
 * its real status server on the same port once the chain answers.
 */
export async function serveWaitingStatus(
  options: WaitingStatusOptions,
): Promise<{ server: StatusServer; url: string }> {
  const source = new MemoryStatusSource({
    version: options.version,
    peerId: options.peerId,
    operator: options.operator,
    chainId: 0,
    rpcUrl: options.rpcUrl,
    contracts: { token: zeroAddress, stakeRegistry: zeroAddress, trainingRounds: zeroAddress },
    ready: false,
    alerts: [{ code: CHAIN_UNREACHABLE_ALERT, message: options.message, sinceMs: Date.now() }],
    startedAt: Date.now(),
    peers: [],
    round: null,
    history: [],
    slashes: [],
  });
  const server = createStatusServer({ source, port: options.port, uiDir: options.uiDir });
  const { url } = await server.start();
  return { server, url };
}

export interface ConnectOptions {
  readonly config: NodeConfig;
  readonly account: Account;
  readonly peerId: string;
  readonly version: string;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

/**
 * The node's chain and its verified deployment. While the endpoint does not answer the node waits, serving `/ready`
 * false on its status port (when it has one); a chain that answers "no" (stale deployment, wrong chain) fails.
 */
export async function connectWhenReachable(
  options: ConnectOptions,
): Promise<{ clients: ChainClients; deployment: Deployment; path: string }> {
  const { config, log } = options;
  let waiting: Promise<StatusServer | undefined> | undefined;
  try {
    return await waitForChain(
      async () => {
        const clients = await connectChain(config.rpcUrl, options.account);
        const loaded = await loadDeployment(clients.publicClient, {
          path: config.deployment,
          rpcUrl: config.rpcUrl,
        });
        return { clients, ...loaded };
      },
      {
        rpcUrl: config.rpcUrl,
        log,
        signal: options.signal,
        onWaiting: (message) => {
          if (config.apiPort === 0 && !config.ui) return;
          waiting = serveWaitingStatus({
            port: config.apiPort,
            version: options.version,
            peerId: options.peerId,
            operator: options.account.address,
            rpcUrl: config.rpcUrl,
            message,
          }).then(
            ({ server, url }) => {
              log.info({ url }, "status API listening (not ready: waiting for the chain)");
              return server;
            },
            (error: unknown) => {
              log.warn({ err: error }, "could not serve the status API while waiting for the chain");
              return undefined;
            },
          );
        },
      },
    );
  } finally {
    await (await waiting)?.stop();
  }
}
