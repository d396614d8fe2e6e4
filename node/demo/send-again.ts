/**
 * A driven network's transaction, sent again when its HTTP request failed before the chain had it. Under load the
 * chain process's HTTP endpoint drops requests ("fetch failed" from viem's http transport, which does not retry
 * `eth_sendRawTransaction`, rightly: it cannot know whether the chain took it): the 1,000-node bench's process
 * lost its first `createTask` that way after 45 minutes of network formation (2026-12-07 16:50 UTC), a host
 * starved at autogroup 19 lost a `sendEther` (16:03), and session 19's 64-node row a `createTask`. The sender's
 * nonce tells: unused, the transaction never reached the chain and is sent again; used, it did.
 */
import type { Address, Chain, PublicClient, Transport } from "viem";

/** How many times a transaction is sent in all when its HTTP request keeps failing. */
const SEND_ATTEMPTS = 4;
/** Pause before looking at the nonce and sending again (ms): the chain may still be taking the first. */
export const SEND_AGAIN_AFTER_MS = 2_000;

/** The messages of `error` and its causes, for recognising a transport failure. */
function messages(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error && parts.length < 8; e = e.cause) parts.push(e.message);
  return parts.join(" / ");
}

const TRANSPORT_FAILURE =
  /fetch failed|HTTP request failed|other side closed|socket hang up|ECONNRESET|ECONNREFUSED/i;

/**
 * Runs `send` (one transaction from `from`); when its HTTP request failed and `from`'s nonce was not used, sends
 * again (SEND_ATTEMPTS in all). When the nonce was used (the chain took it, the answer was lost), returns
 * `ifLanded()` if given, else throws the failure: a caller that needs the receipt cannot have it.
 */
export async function sendAgain<T>(
  publicClient: Pick<PublicClient<Transport, Chain>, "getTransactionCount">,
  from: Address,
  send: () => Promise<T>,
  ifLanded?: () => T,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const nonce = await publicClient.getTransactionCount({ address: from, blockTag: "pending" });
    try {
      return await send();
    } catch (error) {
      if (attempt >= SEND_ATTEMPTS || !TRANSPORT_FAILURE.test(messages(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, SEND_AGAIN_AFTER_MS));
      const now = await publicClient.getTransactionCount({ address: from, blockTag: "pending" });
      if (now > nonce) {
        if (ifLanded === undefined) throw error;
        return ifLanded();
      }
    }
  }
}
