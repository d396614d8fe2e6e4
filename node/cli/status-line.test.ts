/**
 * `vain-node status --api`'s summary of a running node's status API (a real server on port 18602, and one that is
 * down), and the "waiting for transaction" progress line, written only to a terminal. Needs no chain (moved out of
 * chain-commands.test.ts, which starts one).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MemoryStatusSource } from "../api/memory-source.ts";
import { createStatusServer } from "../api/server.ts";
import { sampleStatus } from "../../test/support/status-api.ts";
import { progressReporter } from "./chain-context.ts";
import { fetchNodeApiSummary } from "./commands/status.ts";

describe("status --api and the progress line", () => {
  it("summarises a running node's status API (real server, port 18602) and reports an unreachable one", async () => {
    const source = new MemoryStatusSource(
      sampleStatus({
        peers: [
          {
            peerId: "12D3KooWA",
            operator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            stake: "1",
            reputation: 0.9,
            connected: true,
          },
          {
            peerId: "12D3KooWB",
            operator: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
            stake: "1",
            reputation: 0.5,
            connected: false,
          },
        ],
        round: { roundId: "3", taskId: "1", phase: "training", deadlines: {}, trainers: 2 },
      }),
    );
    const server = createStatusServer({ source, port: 18602 });
    const { url } = await server.start();
    try {
      const summary = await fetchNodeApiSummary(url);
      assert.equal(summary.reachable, true);
      assert.equal(summary.peers, 2);
      assert.equal(summary.connectedPeers, 1);
      assert.ok(Math.abs((summary.meanPeerReputation ?? 0) - 0.7) < 1e-12);
      assert.equal(summary.roundPhase, "training");
    } finally {
      await server.stop();
    }
    const down = await fetchNodeApiSummary("http://127.0.0.1:18608");
    assert.equal(down.reachable, false);
    assert.match(down.error ?? "", /cannot reach the node API at http:\/\/127\.0\.0\.1:18608/);
  });

  it("writes a 'waiting for transaction' line only to a terminal", () => {
    let written = "";
    const tty = {
      isTTY: true,
      write: (text: string) => ((written += text), true),
    } as unknown as NodeJS.WriteStream;
    const report = progressReporter(tty);
    assert.ok(report !== undefined);
    report({ kind: "sent", action: "stake", hash: "0xabc" });
    assert.match(written, /stake: waiting for transaction 0xabc…/);
    report({ kind: "mined", action: "stake", hash: "0xabc", blockNumber: 1n });
    assert.ok(written.endsWith("\r\u001b[K"), "the line is cleared once mined");
    const pipe = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;
    assert.equal(progressReporter(pipe), undefined);
  });
});
