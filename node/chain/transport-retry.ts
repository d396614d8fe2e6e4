/**
 * Riding out an RPC outage: a chain call that failed because the endpoint did not answer (connection refused,
 * HTTP error, timeout) is tried again with exponential back-off until a budget runs out, then ends with the
 * typed `ChainUnreachableError`. Anything else (a revert, a bad argument) is thrown at once: retrying cannot
 * change it. Callers make each attempt re-simulate, so a write whose phase deadline passed during the outage
 * ends with the contract's `DeadlinePassed` instead of a late transaction.
 */
import { BaseError, HttpRequestError, TimeoutError } from "viem";

import {
  CHAIN_WRITE_RETRY_BUDGET_MS,
  CHAIN_WRITE_RETRY_DELAY_MS,
  CHAIN_WRITE_RETRY_MAX_DELAY_MS,
} from "./constants.ts";
import { ChainUnreachableError } from "./errors.ts";

/** Whether `error` says the endpoint did not answer (as opposed to the chain answering "no"). */
export function isTransportError(error: unknown): boolean {
  if (error instanceof ChainUnreachableError) return true;
  if (!(error instanceof BaseError)) return false;
  const found = error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError);
  return found instanceof HttpRequestError || found instanceof TimeoutError;
}

export interface TransportRetryOptions {
  /** Endpoint named in the final error. */
  readonly rpcUrl: string;
  /** Total time to keep trying (ms, default CHAIN_WRITE_RETRY_BUDGET_MS). */
  readonly budgetMs?: number;
  /** Stops retrying (the caller shut down); the last error is thrown. */
  readonly signal?: AbortSignal;
  /** Called before each pause, for logging. */
  readonly onRetry?: (attempt: number, error: unknown) => void;
}

/** Runs `attempt` until it succeeds, fails with a non-transport error, or the budget is spent. */
export async function withTransportRetry<T>(
  attempt: () => Promise<T>,
  options: TransportRetryOptions,
): Promise<T> {
  const deadline = Date.now() + (options.budgetMs ?? CHAIN_WRITE_RETRY_BUDGET_MS);
  let delay = CHAIN_WRITE_RETRY_DELAY_MS;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isTransportError(error) || options.signal?.aborted === true) throw error;
      if (Date.now() + delay > deadline) throw new ChainUnreachableError(options.rpcUrl, error);
      options.onRetry?.(tries, error);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, CHAIN_WRITE_RETRY_MAX_DELAY_MS);
    }
  }
}
