/**
 * The node's HTTP status API and dashboard host, on plain `node:http` (six routes do not need a framework).
 *
 * Routes (GET and HEAD only):
 *  - `/health` 200 while the process serves requests; `/ready` 200 when `status().ready`, else 503.
 *  - `/api/status` ({@link NodeStatus}), `/api/peers`, `/api/round`: JSON snapshots.
 *  - `/api/events`: server-sent events, one per {@link NodeEvent} (`event: <type>`), with heartbeat comments so
 *    proxies and browsers keep the stream open; the subscription ends when the client goes away.
 *  - `/metrics`: Prometheus text from the source's registry.
 *  - everything else: the built dashboard from `uiDir` (index.html for unknown paths without an extension, so
 *    client-side routes reload), or a 404 JSON body.
 *
 * Security: binds 127.0.0.1 by default; every route is read-only; no CORS headers are sent, and requests whose
 * `Origin` is another site are refused, so other web pages cannot read the node's state. When bound to a
 * loopback address the `Host` header must name a loopback host too (DNS rebinding). Static paths are resolved
 * inside `uiDir` only.
 */
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { extname, isAbsolute, relative, resolve, sep } from "node:path";

import { z } from "zod";

import { StatusServerError } from "./errors.ts";
import type { NodeEvent, NodeStatusSource } from "./status.ts";

/** Comment line sent on idle event streams: below the 30-60 s idle timeouts of common proxies. */
export const SSE_HEARTBEAT_MS = 15_000;
/** Browsers wait this long before reconnecting a dropped event stream (the SSE `retry:` field). */
export const SSE_RETRY_MS = 2_000;
/** A client that lets this much event data pile up unread is dropped rather than buffered without bound. */
export const SSE_MAX_BUFFERED_BYTES = 1 << 20;

/** MIME types of the files a Vite build emits. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
};

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

const optionsSchema = z.object({
  port: z.number().int().min(0).max(65_535),
  host: z.string().min(1).default("127.0.0.1"),
  uiDir: z.string().min(1).optional(),
  heartbeatMs: z.number().int().positive().default(SSE_HEARTBEAT_MS),
  allowedOrigins: z.array(z.string().url()).default([]),
});

export interface StatusServerOptions {
  /** The running node (or any other implementation of the interface). */
  readonly source: NodeStatusSource;
  /** TCP port; 0 picks a free one (read it from `start()`'s result). */
  readonly port: number;
  /** Interface to bind; loopback by default so the API is not exposed by accident. */
  readonly host?: string;
  /** The built dashboard (`dashboardDir()`); without it only the API routes answer. */
  readonly uiDir?: string;
  /** Aborting stops the server. */
  readonly signal?: AbortSignal;
  /** Interval of the event stream's heartbeat comments. */
  readonly heartbeatMs?: number;
  /** Extra origins allowed to call the API from a browser, e.g. a Vite dev server (`http://localhost:5173`). */
  readonly allowedOrigins?: readonly string[];
}

export interface StatusServer {
  /** Listens; resolves with the base URL (e.g. `http://127.0.0.1:8080`). */
  start(): Promise<{ readonly url: string; readonly port: number }>;
  /** Ends open event streams and closes the listener. Idempotent. */
  stop(): Promise<void>;
  /** Number of open event streams (for tests and metrics). */
  readonly eventClients: number;
}

interface ResolvedOptions {
  readonly port: number;
  readonly host: string;
  readonly uiDir?: string;
  readonly heartbeatMs: number;
  readonly allowedOrigins: readonly string[];
}

function sendJson(res: ServerResponse, statusCode: number, body: unknown, head = false): void {
  const text = JSON.stringify(body);
  res.writeHead(statusCode, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  res.end(head ? undefined : text);
}

function sendError(res: ServerResponse, statusCode: number, code: string, message: string): void {
  sendJson(res, statusCode, { error: { code, message } });
}

function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || host.startsWith("127.");
}

/** Hostname part of a `Host` header (`[::1]:80` → `[::1]`, `localhost:80` → `localhost`). */
function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith("[")) return hostHeader.slice(0, hostHeader.indexOf("]") + 1);
  const colon = hostHeader.lastIndexOf(":");
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}

/**
 * Content-Security-Policy of the dashboard: scripts and styles only from the node itself; network access to
 * the node and to the chain's RPC endpoint (read-only mode talks to it directly).
 */
function contentSecurityPolicy(rpcUrl: string | undefined): string {
  let rpcOrigin = "";
  try {
    if (rpcUrl !== undefined) rpcOrigin = ` ${new URL(rpcUrl).origin}`;
  } catch {
    // a malformed rpcUrl only means the page cannot reach the chain directly
  }
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self'${rpcOrigin}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
}

/** Creates (does not start) the status server. Throws `StatusServerError` (`INVALID_OPTIONS`) on bad options. */
export function createStatusServer(options: StatusServerOptions): StatusServer {
  const parsed = optionsSchema.safeParse({
    port: options.port,
    host: options.host,
    uiDir: options.uiDir,
    heartbeatMs: options.heartbeatMs,
    allowedOrigins: options.allowedOrigins === undefined ? undefined : [...options.allowedOrigins],
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StatusServerError(
      "INVALID_OPTIONS",
      `invalid status server option ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`,
    );
  }
  const config: ResolvedOptions = {
    ...parsed.data,
    uiDir: parsed.data.uiDir === undefined ? undefined : resolve(parsed.data.uiDir),
  };
  const { source } = options;
  const streams = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let stopping: Promise<void> | undefined;
  let uiRoot: string | undefined;

  function originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    const host = req.headers.host;
    if (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`)) return true;
    return config.allowedOrigins.some((allowed) => new URL(allowed).origin === origin);
  }

  function hostAllowed(req: IncomingMessage): boolean {
    if (!isLoopback(config.host)) return true;
    const host = req.headers.host;
    return host !== undefined && isLoopback(hostnameOf(host));
  }

  function openEventStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write(`retry: ${SSE_RETRY_MS}\n: connected\n\n`);
    streams.add(res);
    let eventId = 0;
    let unsubscribe: () => void = () => undefined;
    // The first tick comes after `write` below is defined.
    const heartbeat = setInterval(() => write(`: heartbeat ${Date.now()}\n\n`), config.heartbeatMs);
    heartbeat.unref();
    const close = (): void => {
      if (!streams.delete(res)) return;
      unsubscribe();
      clearInterval(heartbeat);
      if (!res.writableEnded) res.end();
    };
    const write = (chunk: string): void => {
      if (res.writableEnded) return;
      if (res.writableLength > SSE_MAX_BUFFERED_BYTES) {
        close();
        res.destroy();
        return;
      }
      res.write(chunk);
    };
    unsubscribe = source.subscribe((event: NodeEvent) => {
      eventId += 1;
      write(`id: ${eventId}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    });
    req.on("close", close);
    res.on("close", close);
  }

  async function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    const head = req.method === "HEAD";
    if (uiRoot === undefined) {
      sendError(res, 404, "NOT_FOUND", `no route ${pathname} (the dashboard is not enabled on this node)`);
      return;
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      sendError(res, 400, "BAD_PATH", "malformed percent-encoding in the path");
      return;
    }
    if (decoded.includes("\0")) {
      sendError(res, 400, "BAD_PATH", "NUL byte in the path");
      return;
    }
    const wanted = resolve(uiRoot, `.${decoded.startsWith("/") ? decoded : `/${decoded}`}`);
    const rel = relative(uiRoot, wanted);
    if (rel.startsWith("..") || isAbsolute(rel)) {
      sendError(res, 404, "NOT_FOUND", `no route ${pathname}`);
      return;
    }
    let file = await fileInside(wanted);
    if (file === undefined && extname(decoded) === "") file = await fileInside(resolve(uiRoot, "index.html"));
    if (file === undefined) {
      sendError(res, 404, "NOT_FOUND", `no file ${pathname}`);
      return;
    }
    const extension = extname(file.path).toLowerCase();
    const headers: Record<string, string | number> = {
      "content-type": CONTENT_TYPES[extension] ?? "application/octet-stream",
      "content-length": file.size,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      // Vite puts a content hash in every asset name, so assets never change; index.html always may.
      "cache-control": file.path.includes(`${sep}assets${sep}`)
        ? "public, max-age=31536000, immutable"
        : "no-cache",
    };
    if (extension === ".html") {
      let rpcUrl: string | undefined;
      try {
        rpcUrl = source.status().rpcUrl;
      } catch {
        rpcUrl = undefined;
      }
      headers["content-security-policy"] = contentSecurityPolicy(rpcUrl);
    }
    res.writeHead(200, headers);
    if (head) {
      res.end();
      return;
    }
    const stream = createReadStream(file.path);
    stream.on("error", () => res.destroy());
    stream.pipe(res);
  }

  /** The regular file at `path` if it is inside the UI root after resolving symlinks. */
  async function fileInside(path: string): Promise<{ path: string; size: number } | undefined> {
    if (uiRoot === undefined) return undefined;
    try {
      const real = await realpath(path);
      const rel = relative(uiRoot, real);
      if (rel.startsWith("..") || isAbsolute(rel)) return undefined;
      const info = await stat(real);
      return info.isFile() ? { path: real, size: info.size } : undefined;
    } catch {
      return undefined;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req)) {
      sendError(res, 403, "HOST_REFUSED", "this node only answers requests addressed to a loopback host");
      return;
    }
    if (!originAllowed(req)) {
      sendError(res, 403, "ORIGIN_REFUSED", "cross-origin requests are not allowed");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      sendError(res, 405, "METHOD_NOT_ALLOWED", `${req.method ?? "?"} is not allowed; the API is read-only`);
      return;
    }
    const head = req.method === "HEAD";
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    switch (pathname) {
      case "/health":
        sendJson(res, 200, { status: "ok" }, head);
        return;
      case "/ready": {
        const ready = source.status().ready;
        sendJson(res, ready ? 200 : 503, { ready }, head);
        return;
      }
      case "/api/status":
        sendJson(res, 200, source.status(), head);
        return;
      case "/api/peers":
        sendJson(res, 200, source.status().peers, head);
        return;
      case "/api/round":
        sendJson(res, 200, source.status().round, head);
        return;
      case "/api/events":
        if (head) {
          res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
          res.end();
          return;
        }
        openEventStream(req, res);
        return;
      case "/metrics": {
        const text = await source.metrics.metrics();
        res.writeHead(200, {
          "content-type": source.metrics.contentType,
          "content-length": Buffer.byteLength(text),
          "cache-control": "no-store",
        });
        res.end(head ? undefined : text);
        return;
      }
      default:
        if (pathname.startsWith("/api/")) {
          sendError(res, 404, "NOT_FOUND", `no API route ${pathname}`);
          return;
        }
        await serveStatic(req, res, pathname);
    }
  }

  async function start(): Promise<{ url: string; port: number }> {
    if (server !== undefined)
      throw new StatusServerError("LISTEN_FAILED", "the status server is already started");
    if (config.uiDir !== undefined) {
      try {
        uiRoot = await realpath(config.uiDir);
        await stat(resolve(uiRoot, "index.html"));
      } catch (error) {
        throw new StatusServerError(
          "UI_DIR_MISSING",
          `no built dashboard in ${config.uiDir}: run \`npm run build:web\` first`,
          { cause: error },
        );
      }
    }
    const created = createServer((req, res) => {
      handle(req, res).catch((error: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        sendError(res, 500, "INTERNAL", error instanceof Error ? error.message : String(error));
      });
    });
    created.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolveListen, rejectListen) => {
      created.once("error", (error: NodeJS.ErrnoException) => {
        rejectListen(
          error.code === "EADDRINUSE"
            ? new StatusServerError(
                "PORT_IN_USE",
                `port ${config.port} on ${config.host} is in use: choose another with --api-port`,
                { cause: error },
              )
            : new StatusServerError(
                "LISTEN_FAILED",
                `cannot listen on ${config.host}:${config.port}: ${error.message}`,
                {
                  cause: error,
                },
              ),
        );
      });
      created.listen(config.port, config.host, () => resolveListen());
    });
    server = created;
    const port = (created.address() as AddressInfo).port;
    const hostPart = config.host.includes(":") ? `[${config.host}]` : config.host;
    options.signal?.addEventListener("abort", () => void stop(), { once: true });
    if (options.signal?.aborted === true) await stop();
    return { url: `http://${hostPart}:${port}`, port };
  }

  function stop(): Promise<void> {
    if (server === undefined) return Promise.resolve();
    stopping ??= new Promise<void>((resolveStop) => {
      const current = server as Server;
      for (const res of streams) res.end();
      streams.clear();
      current.close(() => resolveStop());
      // Keep-alive sockets would hold close() open until they time out.
      for (const socket of sockets) socket.destroy();
    });
    return stopping;
  }

  return {
    start,
    stop,
    get eventClients() {
      return streams.size;
    },
  };
}
