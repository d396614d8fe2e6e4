/**
 * Every protocol behind admission. vAIn's own protocols check admission in their handlers; libp2p's services
 * (kad-dht, ping, gossipsub, circuit relay, autonat, dcutr) register theirs through the registrar they are given.
 * {@link gateService} hands a service a registrar whose `handle` wraps each handler: an inbound stream from a peer
 * the gate does not allow, or beyond that peer's stream-opening rate, is aborted before the service reads a
 * byte, and the violation is reported (abuse accounting, node/p2p/abuse.ts).
 *
 * (libp2p 3.3's `libp2p.use()` middleware would be the natural hook, but its registrar appends the handler to the
 * registered middleware array on every inbound stream, so a gate registered there would run handlers twice.)
 */
import type { Connection, PeerId, Stream, StreamHandler, StreamHandlerOptions } from "@libp2p/interface";

import { MeshError } from "./errors.ts";
import { KeyedRateLimiter } from "./rate-limit.ts";
import type { RateSpec } from "./rate-limit.ts";

export interface ProtocolGateInit {
  /**
   * Whether `peer` may open streams of this service. A peer whose admission is still running is answered
   * once it settles (its streams wait, unread, until then): services open streams right after connecting,
   * before the admission round trip is over. Gives up (false) when `signal` aborts.
   */
  readonly allow: (peer: PeerId, signal: AbortSignal) => boolean | Promise<boolean>;
  /** Longest a stream waits for its peer's admission to settle (the admission timeout). */
  readonly waitMs: number;
  /** Inbound streams one peer may open, all protocols of the service together. */
  readonly streamsPerPeer: RateSpec;
  /** Most inbound streams of one protocol open at once on a connection (libp2p's default is 32). */
  readonly maxInboundStreams?: number;
  /** Told about each refused stream (a peer over its rate is misbehaving; an unadmitted one may be early). */
  readonly onRefused?: (peer: PeerId, protocol: string, reason: "not-allowed" | "rate") => void;
}

interface RegistrarLike {
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>;
}

type Factory<C extends object, S> = (components: C) => S;

/** Counts of refused streams per reason, for status and tests. */
export interface GateCounters {
  refusedNotAllowed: number;
  refusedRate: number;
}

/** Wraps a libp2p service factory so that every protocol it handles is gated by `init`. */
export function gateService<C extends object, S>(
  factory: Factory<C, S>,
  init: ProtocolGateInit,
  counters: GateCounters = { refusedNotAllowed: 0, refusedRate: 0 },
): Factory<C, S> {
  const rate = new KeyedRateLimiter(init.streamsPerPeer);
  const gate =
    (protocol: string, handler: StreamHandler): StreamHandler =>
    async (stream: Stream, connection: Connection) => {
      const peer = connection.remotePeer;
      let allowed: boolean;
      try {
        allowed = await init.allow(peer, AbortSignal.timeout(init.waitMs));
      } catch {
        allowed = false;
      }
      if (!allowed) {
        counters.refusedNotAllowed += 1;
        init.onRefused?.(peer, protocol, "not-allowed");
        stream.abort(new MeshError("NOT_ADMITTED", `${protocol} is for admitted peers`));
        return;
      }
      if (!rate.take(peer.toString())) {
        counters.refusedRate += 1;
        init.onRefused?.(peer, protocol, "rate");
        stream.abort(new MeshError("NOT_ADMITTED", `too many ${protocol} streams`));
        return;
      }
      await handler(stream, connection);
    };
  return (components: C) => {
    const registrar = (components as { registrar?: RegistrarLike }).registrar;
    if (registrar === undefined) return factory(components);
    const gatedRegistrar = new Proxy(registrar, {
      get(target, property) {
        if (property === "handle") {
          return async (protocol: string, handler: StreamHandler, options?: StreamHandlerOptions) =>
            target.handle(protocol, gate(protocol, handler), {
              ...options,
              ...(init.maxInboundStreams === undefined ? {} : { maxInboundStreams: init.maxInboundStreams }),
            });
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const gatedComponents = new Proxy(components, {
      get(target, property) {
        return property === "registrar" ? gatedRegistrar : Reflect.get(target, property, target);
      },
    });
    return factory(gatedComponents);
  };
}
