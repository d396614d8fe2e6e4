/**
 * JSON-RPC to a development chain (`evm_increaseTime`, `evm_mine`, `evm_setIntervalMining`, …) for the demo,
 * tests and benches, one request per TCP connection.
 *
 * Why not `fetch`: it keeps connections alive, and a `hardhat node` closes an idle one after 5 s. On a busy
 * machine the client's own idle timer fires late, a request goes out on a socket the server is closing, and it
 * fails with "other side closed" (UND_ERR_SOCKET) — it failed the demo's network test and the hierarchy test at
 * load 16–21. Retrying is not safe (`evm_increaseTime` may have been applied once already); a fresh connection
 * per call cannot meet a closing one, and these calls are rare.
 */
import { request } from "node:http";

import { ChainUnreachableError } from "./errors.ts";

/** A development-chain call the chain answered with a JSON-RPC error or a non-200 status. */
export class DevRpcError extends Error {
  override readonly name = "DevRpcError";
  readonly method: string;
  constructor(method: string, detail: string) {
    super(`${method} failed: ${detail}`);
    this.method = method;
  }
}

/** Calls `method` on the chain at `rpcUrl` (http://) over a fresh connection; resolves with the result. */
export function devRpc(rpcUrl: string, method: string, params: readonly unknown[] = []): Promise<unknown> {
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method, params });
  return new Promise((resolve, reject) => {
    const req = request(
      rpcUrl,
      {
        method: "POST",
        agent: false,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          connection: "close",
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", (error) => reject(new ChainUnreachableError(rpcUrl, error)));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (response.statusCode !== 200) {
            reject(new DevRpcError(method, `HTTP ${response.statusCode}: ${text.slice(0, 200)}`));
            return;
          }
          try {
            const reply = JSON.parse(text) as { result?: unknown; error?: { message?: string } };
            if (reply.error !== undefined) reject(new DevRpcError(method, reply.error.message ?? "error"));
            else resolve(reply.result);
          } catch {
            reject(new DevRpcError(method, `not JSON: ${text.slice(0, 200)}`));
          }
        });
      },
    );
    req.on("error", (error) => reject(new ChainUnreachableError(rpcUrl, error)));
    req.end(body);
  });
}
