import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";

import { createPublicClient, http } from "viem";

import { ChainUnreachableError } from "./errors.ts";
import { isTransportError, withTransportRetry } from "./transport-retry.ts";

/** A port nothing listens on (yet): taken from the OS, then released. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A minimal JSON-RPC endpoint answering eth_chainId (what an RPC outage's end looks like to the client). */
function rpcServer(port: number) {
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const { id } = JSON.parse(body) as { id: number };
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ jsonrpc: "2.0", id, result: "0x7a69" }));
    });
  });
  return {
    listen: () => new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("transport retry (a chain call through an RPC outage)", () => {
  it("retries a refused connection until the endpoint answers", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const client = createPublicClient({ transport: http(url, { retryCount: 0 }) });
    const refused = await client.getChainId().catch((error: unknown) => error);
    assert.equal(isTransportError(refused), true, "connection refused is a transport failure");
    const server = rpcServer(port);
    let attempts = 0;
    const restored = setTimeout(() => void server.listen(), 1_500);
    try {
      const chainId = await withTransportRetry(
        () => {
          attempts += 1;
          return client.getChainId();
        },
        { rpcUrl: url },
      );
      assert.equal(chainId, 31337);
      assert.ok(attempts >= 2, `retried (${attempts} attempts)`);
    } finally {
      clearTimeout(restored);
      await server.close().catch(() => undefined);
    }
  });

  it("ends with ChainUnreachableError once the budget is spent, and never retries what the chain refused", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const client = createPublicClient({ transport: http(url, { retryCount: 0 }) });
    await assert.rejects(
      withTransportRetry(() => client.getChainId(), { rpcUrl: url, budgetMs: 1_200 }),
      (error: unknown) => error instanceof ChainUnreachableError && error.code === "CHAIN_UNREACHABLE",
    );
    let attempts = 0;
    const refusal = new RangeError("not a transport failure");
    await assert.rejects(
      withTransportRetry(
        () => {
          attempts += 1;
          return Promise.reject(refusal);
        },
        { rpcUrl: url },
      ),
      (error: unknown) => error === refusal,
    );
    assert.equal(attempts, 1);
    assert.equal(isTransportError(refusal), false);
  });
});
