/**
 * The shared chain view of a process's nodes (shared-reads.ts) against a real `hardhat node`: identical reads at
 * once reach the chain once, a read after the TTL sees the chain move, and a transaction's simulation (an
 * `eth_call` from an account) is never shared.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { privateKeyToAccount } from "viem/accounts";

import { startHardhatNode } from "../../test/support/hardhat-node.ts";
import type { HardhatNodeProcess } from "../../test/support/hardhat-node.ts";
import { HARDHAT_DEV_PRIVATE_KEY } from "./accounts.ts";
import { connectChain } from "./clients.ts";
import { devRpc } from "./dev-rpc.ts";
import { sharedReads } from "./shared-reads.ts";

const PORT = 18878;
const TTL_MS = 400;

describe("shared chain reads", { timeout: 120_000 }, () => {
  let chain: HardhatNodeProcess | undefined;

  before(async () => {
    chain = await startHardhatNode(PORT);
  });

  after(async () => {
    await chain?.stop();
  });

  it("asks the chain once for identical reads, again after the TTL, and never shares a simulation", async () => {
    const { publicClient } = await connectChain(chain!.rpcUrl, privateKeyToAccount(HARDHAT_DEV_PRIVATE_KEY));
    const { client, stats } = sharedReads(publicClient, TTL_MS);
    // Receipts and cached block numbers on the nodes' own schedule, not viem's 4 s default.
    assert.equal(client.pollingInterval, publicClient.pollingInterval);
    assert.equal(client.cacheTime, publicClient.cacheTime);

    // A read of the head block (eth_getBlockByNumber "latest"), 16 nodes at once.
    const heads = await Promise.all(Array.from({ length: 16 }, () => client.getBlock()));
    assert.equal(new Set(heads.map((b) => b.number)).size, 1, "every asker sees the same head");
    assert.equal(stats.asked, 1, "16 identical reads at once reach the chain once");
    assert.equal(stats.shared, 15);

    await devRpc(chain!.rpcUrl, "evm_mine");
    await new Promise((resolve) => setTimeout(resolve, TTL_MS + 50));
    const later = await client.getBlock();
    assert.ok(
      later.number > heads[0]!.number,
      `after the TTL the head moved: ${heads[0]!.number} → ${later.number}`,
    );
    assert.equal(stats.asked, 2);

    // A dry run of a transaction names its sender: each one goes to the chain.
    const account = privateKeyToAccount(HARDHAT_DEV_PRIVATE_KEY).address;
    const read = { to: account, data: "0x" } as const;
    await Promise.all([client.call(read), client.call(read)]);
    assert.equal(stats.asked, 3, "two identical plain calls, one request");
    await Promise.all([client.call({ ...read, account }), client.call({ ...read, account })]);
    assert.equal(stats.asked, 5, "two simulations, two requests");
  });
});
