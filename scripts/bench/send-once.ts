/** A bench's setup transaction, sent again when its HTTP request failed (round-host.ts, round-hosts.ts). */
import type { Address, Chain, PublicClient, Transport } from "viem";

/** How many times a setup transaction is sent when its HTTP request fails (the chain process was not reached). */
const SEND_ATTEMPTS = 5;

/** The message of `error` and its causes, for matching a transport failure. */
function messages(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error && parts.length < 6; e = e.cause) parts.push(e.message);
  return parts.join(" / ");
}

/**
 * Sends one setup transaction of `from`, again when its HTTP request failed: a host starved of CPU by the
 * machine's other work left seconds between its requests, and a request on a kept-alive socket the chain's
 * server had closed failed ("fetch failed", 2 hosts at load 16, 16:03 UTC). A send whose nonce was used after
 * all (the transaction landed, its receipt read failed) is not sent again.
 */
export async function sendOnce(
  publicClient: PublicClient<Transport, Chain>,
  from: Address,
  send: () => Promise<unknown>,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const nonce = await publicClient.getTransactionCount({ address: from, blockTag: "pending" });
    try {
      await send();
      return;
    } catch (error) {
      if (attempt >= SEND_ATTEMPTS || !/fetch failed|other side closed|socket|ECONN/i.test(messages(error)))
        throw error;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      if ((await publicClient.getTransactionCount({ address: from, blockTag: "latest" })) > nonce) return;
    }
  }
}
