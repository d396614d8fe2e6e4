/**
 * Helpers shared by the status API tests: a sample {@link NodeStatus} and a raw HTTP GET that sends the path
 * exactly as given (fetch would normalise `..` away before the server could be tested against it).
 */
import { request } from "node:http";

import type { NodeStatus } from "../../node/api/status.ts";

export function sampleStatus(overrides: Partial<NodeStatus> = {}): NodeStatus {
  return {
    version: "0.1.0",
    peerId: "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
    operator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    chainId: 31337,
    rpcUrl: "http://127.0.0.1:18610",
    contracts: {
      token: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      stakeRegistry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
      trainingRounds: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
    },
    ready: true,
    startedAt: 1_700_000_000_000,
    peers: [],
    round: null,
    history: [],
    slashes: [],
    ...overrides,
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** GET (or another method) with the path sent verbatim. */
export function rawRequest(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}
