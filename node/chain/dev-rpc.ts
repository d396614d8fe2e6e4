/**
 * JSON-RPC to a development chain (`evm_increaseTime`, `evm_mine`, `evm_setIntervalMining`, …) for the demo,
 * tests and benches, one request per TCP connection.
 *
 * Why not `fetch`: it keeps connections alive, and a `hardhat node` closes an idle one after 5 s. On a busy
 * machine the client's own idle timer fires late, a request goes out on a socket the server is closing, and it
 * fails with "other side closed" (UND_ERR_SOCKET) — it failed the demo's network test and the hierarchy test at
 * load 16–21. Retrying is not safe (`evm_increaseTime` may have been applied once already); a fresh connection
 * per call cannot meet a closing one, and these calls are rare.
 *
 * One answer is retried: HTTP 408. Node's HTTP server (the `hardhat node`'s) sends it only for a request it had
 * not finished reading when its headers timeout (60 s) passed, i.e. before any handler ran, so the call was not
 * applied. bench:round at 128 nodes met it: the chain process, serving 128 nodes' polls, read the driver's
 * `evm_increaseTime` too late (2026-12-06).
 */
import { request } from "node:http";

import { ChainUnreachableError } from "./errors.ts";

/** A development-chain call the chain answered with a JSON-RPC error or a non-200 status. */
export class DevRpcError extends Error {
  override readonly name = "DevRpcError";
  readonly method: string;
  /** The HTTP status, when the chain answered with one other than 200. */
  readonly status: number | undefined;
  constructor(method: string, detail: string, status?: number) {
    super(`${method} failed: ${detail}`);
    this.method = method;
    this.status = status;
  }
}

/** Sends of one call that the chain answered 408 (not read in time, not applied) before the 408 is thrown. */
const NOT_READ_ATTEMPTS = 3;

/** Calls `method` on the chain at `rpcUrl` (http://) over a fresh connection; resolves with the result. */
export async function devRpc(
  rpcUrl: string,
  method: string,
  params: readonly unknown[] = [],
): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await devRpcOnce(rpcUrl, method, params);
    } catch (error) {
      if (!(error instanceof DevRpcError && error.status === 408) || attempt >= NOT_READ_ATTEMPTS)
        throw error;
    }
  }
}

function devRpcOnce(rpcUrl: string, method: string, params: readonly unknown[]): Promise<unknown> {
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
            reject(
              new DevRpcError(
                method,
                `HTTP ${response.statusCode}: ${text.slice(0, 200)}`,
                response.statusCode,
              ),
            );
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
