import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { Counter, Registry } from "prom-client";

import { StatusServerError } from "./errors.ts";
import { MemoryStatusSource } from "./memory-source.ts";
import { createStatusServer } from "./server.ts";
import type { StatusServer } from "./server.ts";
import type { NodeEvent, PeerStatus } from "./status.ts";
import { rawRequest, sampleStatus } from "../../test/support/status-api.ts";

// Ports reserved for the dashboard/status API tests: 18610-18619 (18610-18611 are used by web/e2e).
const API_PORT = 18612;
const UI_PORT = 18613;
const SPARE_PORT = 18614;

const PEER: PeerStatus = {
  peerId: "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK",
  operator: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  stake: "150000000000000000000",
  reputation: 0.75,
  connected: true,
  latencyMs: 3,
};

/** Reads server-sent events from `url` until `count` events (not comments) arrived or `timeoutMs` passed. */
async function readEvents(
  url: string,
  count: number,
  onOpen: () => void,
  timeoutMs = 5_000,
): Promise<{ events: { event: string; data: string }[]; comments: string[] }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const response = await fetch(url, { signal: controller.signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
  const events: { event: string; data: string }[] = [];
  const comments: string[] = [];
  const decoder = new TextDecoder();
  let buffer = "";
  onOpen();
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = block.split("\n");
        for (const line of lines) if (line.startsWith(":")) comments.push(line.slice(1).trim());
        const event = lines.find((line) => line.startsWith("event: "))?.slice(7);
        const data = lines.find((line) => line.startsWith("data: "))?.slice(6);
        if (event !== undefined && data !== undefined) events.push({ event, data });
      }
      if (events.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { events, comments };
}

async function waitFor(predicate: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("status API server", () => {
  const registry = new Registry();
  const rounds = new Counter({ name: "vain_rounds_total", help: "Rounds finished", registers: [registry] });
  const source = new MemoryStatusSource(sampleStatus(), registry);
  let server: StatusServer;
  let base: string;

  before(async () => {
    server = createStatusServer({ source, port: API_PORT, heartbeatMs: 50 });
    base = (await server.start()).url;
  });
  after(async () => {
    await server.stop();
  });

  it("answers /health and /ready from the source's readiness", async () => {
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "ok" });
    assert.equal((await fetch(`${base}/ready`)).status, 200);
    source.update({ ready: false });
    const notReady = await fetch(`${base}/ready`);
    assert.equal(notReady.status, 503);
    assert.deepEqual(await notReady.json(), { ready: false });
    source.update({ ready: true });
  });

  it("serves the status, peers and round snapshots as JSON", async () => {
    source.setPeers([PEER]);
    source.setRound({
      roundId: "7",
      taskId: "1",
      phase: "committing",
      deadlines: { commit: 1_700_000_060_000 },
      trainers: 2,
    });
    const status = await fetch(`${base}/api/status`);
    assert.equal(status.status, 200);
    assert.match(status.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await status.json(), JSON.parse(JSON.stringify(source.status())));
    assert.deepEqual(await (await fetch(`${base}/api/peers`)).json(), [PEER]);
    const round = (await (await fetch(`${base}/api/round`)).json()) as { phase: string; roundId: string };
    assert.equal(round.phase, "committing");
    assert.equal(round.roundId, "7");
    source.setRound(null);
    assert.equal(await (await fetch(`${base}/api/round`)).text(), "null");
  });

  it("serves Prometheus metrics from the source's registry", async () => {
    rounds.inc(3);
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    assert.match(await response.text(), /^vain_rounds_total 3$/m);
  });

  it("answers unknown routes and other methods with JSON errors", async () => {
    const missing = await fetch(`${base}/api/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(((await missing.json()) as { error: { code: string } }).error.code, "NOT_FOUND");
    const noUi = await fetch(`${base}/index.html`);
    assert.equal(noUi.status, 404);
    assert.match(
      ((await noUi.json()) as { error: { message: string } }).error.message,
      /dashboard is not enabled/,
    );
    const post = await fetch(`${base}/api/status`, { method: "POST", body: "{}" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    const head = await rawRequest(API_PORT, "/api/status", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
  });

  it("refuses other origins and non-loopback Host headers, and sends no CORS grants", async () => {
    const foreign = await rawRequest(API_PORT, "/api/status", {
      headers: { origin: "https://evil.example" },
    });
    assert.equal(foreign.status, 403);
    assert.equal(JSON.parse(foreign.body).error.code, "ORIGIN_REFUSED");
    const same = await rawRequest(API_PORT, "/api/status", {
      headers: { origin: `http://127.0.0.1:${API_PORT}`, host: `127.0.0.1:${API_PORT}` },
    });
    assert.equal(same.status, 200);
    assert.equal(same.headers["access-control-allow-origin"], undefined);
    const rebinding = await rawRequest(API_PORT, "/api/status", { headers: { host: "attacker.example" } });
    assert.equal(rebinding.status, 403);
    assert.equal(JSON.parse(rebinding.body).error.code, "HOST_REFUSED");
    const localhost = await rawRequest(API_PORT, "/health", { headers: { host: `localhost:${API_PORT}` } });
    assert.equal(localhost.status, 200);
  });

  it("streams node events with heartbeats and unsubscribes when the client leaves", async () => {
    assert.equal(source.subscriberCount, 0);
    const slash = {
      operator: PEER.operator,
      amount: "500000000000000000000",
      reason: "missed aggregation deadline",
      txHash: `0x${"ab".repeat(32)}`,
      blockNumber: "42",
    } as const;
    const metrics = {
      roundId: "7",
      accuracy: 0.91,
      loss: 0.31,
      bytesSent: 1024,
      bytesReceived: 4096,
      reward: "225000000000000000000",
      slashes: 0,
      proven: true,
      finishedAt: 1_700_000_200_000,
    };
    const { events, comments } = await readEvents(`${base}/api/events`, 3, () => {
      // Emit after the stream is open and a heartbeat had time to arrive.
      setTimeout(() => {
        source.setPeers([PEER]);
        source.addRoundMetrics(metrics);
        source.addSlash(slash);
      }, 120);
    });
    assert.deepEqual(
      events.map((e) => e.event),
      ["peers", "metrics", "slash"],
    );
    const parsed = events.map((e) => JSON.parse(e.data) as NodeEvent);
    assert.deepEqual(parsed[0], { type: "peers", peers: [PEER] });
    assert.deepEqual(parsed[1], { type: "metrics", metrics });
    assert.deepEqual(parsed[2], { type: "slash", slash });
    assert.ok(
      comments.some((c) => c.startsWith("heartbeat")),
      `no heartbeat among ${comments.join(", ")}`,
    );
    await waitFor(() => source.subscriberCount === 0 && server.eventClients === 0);
    assert.equal(source.status().history.at(-1)?.roundId, "7");
    assert.equal(source.status().slashes.length, 1);
  });
});

describe("status API server: dashboard files", () => {
  let dir: string;
  let outside: string;
  let server: StatusServer;
  const source = new MemoryStatusSource(sampleStatus());

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "vain-ui-"));
    outside = await mkdtemp(join(tmpdir(), "vain-outside-"));
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), "<!doctype html><title>vAIn</title>");
    await writeFile(join(dir, "assets", "index-abc123.js"), "console.log('ui')");
    await writeFile(join(dir, "assets", "index-abc123.css"), "body{}");
    await writeFile(join(outside, "secret.txt"), "secret");
    await symlink(join(outside, "secret.txt"), join(dir, "leak.txt"));
    server = createStatusServer({ source, port: UI_PORT, uiDir: dir });
    await server.start();
  });
  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it("serves files with their content types and a CSP that allows the chain's RPC origin", async () => {
    const index = await rawRequest(UI_PORT, "/");
    assert.equal(index.status, 200);
    assert.equal(index.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(index.headers["cache-control"], "no-cache");
    const csp = String(index.headers["content-security-policy"]);
    assert.match(csp, /connect-src 'self' http:\/\/127\.0\.0\.1:18610/);
    assert.match(csp, /script-src 'self'/);
    const js = await rawRequest(UI_PORT, "/assets/index-abc123.js");
    assert.equal(js.status, 200);
    assert.equal(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert.match(String(js.headers["cache-control"]), /immutable/);
    assert.equal(js.body, "console.log('ui')");
    const css = await rawRequest(UI_PORT, "/assets/index-abc123.css");
    assert.equal(css.headers["content-type"], "text/css; charset=utf-8");
  });

  it("falls back to index.html for client routes but not for missing files", async () => {
    const route = await rawRequest(UI_PORT, "/network/peers");
    assert.equal(route.status, 200);
    assert.match(route.body, /<title>vAIn<\/title>/);
    const missing = await rawRequest(UI_PORT, "/assets/missing.js");
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).error.code, "NOT_FOUND");
  });

  it("never serves files outside the UI directory", async () => {
    for (const path of [
      "/../package.json",
      "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "/assets/..%2f..%2f..%2fetc%2fpasswd",
      "/..%5c..%5cetc%5cpasswd",
      "/leak.txt",
    ]) {
      const response = await rawRequest(UI_PORT, path);
      // Either refused, or normalised to a path inside the directory (a client route: index.html).
      const refused = response.status === 404 || response.status === 400;
      assert.ok(
        refused || response.body.includes("<title>vAIn</title>"),
        `${path} answered ${response.status}`,
      );
      assert.doesNotMatch(response.body, /secret|root:/, path);
    }
    const malformed = await rawRequest(UI_PORT, "/%E0%A4%A");
    assert.equal(malformed.status, 400);
    const nul = await rawRequest(UI_PORT, "/index.html%00.js");
    assert.equal(nul.status, 400);
  });

  it("ends open event streams on stop and stops when its signal aborts", async () => {
    const controller = new AbortController();
    const extra = createStatusServer({ source, port: SPARE_PORT, signal: controller.signal });
    const { url } = await extra.start();
    const response = await fetch(`${url}/api/events`);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // the "connected" preamble
    assert.equal(extra.eventClients, 1);
    controller.abort();
    let done = false;
    while (!done) done = (await reader.read()).done;
    await assert.rejects(fetch(`${url}/health`));
  });
});

describe("status API server: errors", () => {
  const source = new MemoryStatusSource(sampleStatus());

  it("rejects invalid options with a typed error", () => {
    assert.throws(
      () => createStatusServer({ source, port: 70_000 }),
      (error: unknown) => error instanceof StatusServerError && error.code === "INVALID_OPTIONS",
    );
  });

  it("says when the UI directory has no build", async () => {
    const server = createStatusServer({ source, port: SPARE_PORT, uiDir: join(tmpdir(), "vain-no-such-ui") });
    await assert.rejects(server.start(), (error: unknown) => {
      assert.ok(error instanceof StatusServerError);
      assert.equal(error.code, "UI_DIR_MISSING");
      assert.match(error.message, /npm run build:web/);
      return true;
    });
  });

  it("says when the port is taken", async () => {
    const first = createStatusServer({ source, port: SPARE_PORT });
    await first.start();
    try {
      const second = createStatusServer({ source, port: SPARE_PORT });
      await assert.rejects(
        second.start(),
        (error: unknown) => error instanceof StatusServerError && error.code === "PORT_IN_USE",
      );
    } finally {
      await first.stop();
    }
  });
});
