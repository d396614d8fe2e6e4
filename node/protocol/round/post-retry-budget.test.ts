/**
 * An aggregator's post rides out an unreachable chain until its deadline, not for the default budget (45 s): at
 * 1,000 nodes in 4 hosts (session 23) a host's RPC reads timed out for 55 s under its event loop's lag and an honest
 * aggregator gave up its post ~140 s before its deadline, to be slashed. Here the gateway's `trySend` against an
 * endpoint nothing listens on keeps trying for the budget it is given, and the aggregator's budget is the time left
 * to its deadline by the chain's clock.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";

import pino from "pino";
import { createPublicClient, createWalletClient, http, zeroHash } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";

import { RoundsGateway } from "./rounds-gateway.ts";

/** A port nothing listens on: taken from the OS, then released. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function unreachableGateway(): Promise<RoundsGateway> {
  const transport = http(`http://127.0.0.1:${await freePort()}`, { retryCount: 0 });
  const account = privateKeyToAccount(`0x${"11".repeat(32)}`);
  return new RoundsGateway({
    publicClient: createPublicClient({ chain: hardhat, transport }),
    wallet: createWalletClient({ chain: hardhat, transport, account }),
    contracts: { rounds: `0x${"22".repeat(20)}`, registry: `0x${"33".repeat(20)}` },
    taskId: 1n,
    log: pino({ level: "silent" }),
  });
}

describe("an aggregator's post against an unreachable chain", { timeout: 60_000 }, () => {
  it("keeps trying for the budget it is given, then says the chain is unreachable", async () => {
    const gateway = await unreachableGateway();
    for (const budgetMs of [600, 5_000]) {
      const started = performance.now();
      const outcome = await gateway.trySend("postLinkRoot", [1n, zeroHash], budgetMs);
      const ms = performance.now() - started;
      assert.equal(outcome.sent, false);
      assert.match(outcome.sent ? "" : outcome.reason, /cannot reach a chain/);
      // The retry pauses double from 500 ms up to 4 s; the last one that fits the budget ends it.
      if (budgetMs === 600) assert.ok(ms < 2_000, `600 ms budget: ${Math.round(ms)} ms`);
      else assert.ok(ms >= 3_000 && ms < 8_000, `5 s budget: ${Math.round(ms)} ms`);
    }
  });
});
