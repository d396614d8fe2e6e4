/**
 * A TCP proxy in front of the chain's JSON-RPC port, so the soak can make the endpoint unreachable the way a
 * real outage does: `cut()` closes the listening socket and destroys every open connection (new connections are
 * refused, in-flight requests fail), `restore()` listens again on the same port. Nodes are configured with the
 * proxy's URL and never learn the chain's real port.
 */
import { createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { connect } from "node:net";

export class RpcProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  private readonly targetPort: number;
  private readonly targetHost: string;

  constructor(targetPort: number, targetHost = "127.0.0.1") {
    this.targetPort = targetPort;
    this.targetHost = targetHost;
  }

  /** The URL nodes use; valid after `start()`, stable across `cut()`/`restore()`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get reachable(): boolean {
    return this.server !== undefined;
  }

  /** Listens on `port` (0: any free port, kept for later restores). */
  async start(port = 0): Promise<void> {
    this.port = port;
    await this.listen();
  }

  /** The endpoint becomes unreachable: refused connects, reset connections. */
  async cut(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  async restore(): Promise<void> {
    if (this.server === undefined) await this.listen();
  }

  async stop(): Promise<void> {
    await this.cut();
  }

  private listen(): Promise<void> {
    // Half-open on both sides: a client that ends its request still gets the whole reply.
    const server = createServer({ allowHalfOpen: true }, (client) => {
      const upstream = connect({ port: this.targetPort, host: this.targetHost, allowHalfOpen: true });
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", drop).on("close", () => this.sockets.delete(client));
      upstream.on("error", drop).on("close", () => this.sockets.delete(upstream));
      client.pipe(upstream);
      upstream.pipe(client);
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => {
        server.off("error", reject);
        const address = server.address();
        if (address !== null && typeof address === "object") this.port = address.port;
        this.server = server;
        resolve();
      });
    });
  }
}
