/**
 * A local chain refuses to start on a port where a chain already answers: the start-up poll would have taken the
 * other chain for its own, and two runs deployed onto one chain and failed on "nonce too low" (a fresh-clone CI
 * beside a helper's run of the same test, 2026-12-06).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { LocalChainPortInUseError } from "./errors.ts";
import { startHardhatNode } from "./hardhat-process.ts";
import type { HardhatNodeProcess } from "./hardhat-process.ts";

const CHAIN_PORT = 18921;

describe("local chain process", { timeout: 120_000 }, () => {
  let first: HardhatNodeProcess | undefined;
  after(async () => {
    await first?.stop();
  });

  it("refuses a port where a chain already answers, and leaves that chain running", async () => {
    first = await startHardhatNode(CHAIN_PORT);
    await assert.rejects(startHardhatNode(CHAIN_PORT), LocalChainPortInUseError);
    const response = await fetch(first.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
    });
    assert.ok(response.ok, "the first chain still answers");
  });
});
