/**
 * Typed client of the node's status API (node/api/server.ts): the snapshot, and live events applied to it.
 */
import type { NodeEvent, NodeStatus } from "../../node/api/status.ts";

export type { NodeEvent, NodeStatus };

/** The node's API did not answer, or answered something that is not a status. */
export class NodeApiError extends Error {
  override readonly name = "NodeApiError";
  readonly code: "NODE_UNREACHABLE" | "NODE_BAD_RESPONSE";
  constructor(code: NodeApiError["code"], message: string) {
    super(message);
    this.code = code;
  }
}

/** `GET /api/status`. */
export async function fetchStatus(base = ""): Promise<NodeStatus> {
  let response: Response;
  try {
    response = await fetch(`${base}/api/status`, { headers: { accept: "application/json" } });
  } catch {
    throw new NodeApiError("NODE_UNREACHABLE", "The node's API is not answering: is the node running?");
  }
  if (!response.ok) throw new NodeApiError("NODE_BAD_RESPONSE", `The node answered HTTP ${response.status}.`);
  const body = (await response.json()) as Partial<NodeStatus>;
  if (typeof body.chainId !== "number" || typeof body.rpcUrl !== "string" || body.contracts === undefined) {
    throw new NodeApiError("NODE_BAD_RESPONSE", "The node's status lacks chainId, rpcUrl or contracts.");
  }
  return body as NodeStatus;
}

/** Applies one live event to a snapshot (pure, so the page and its tests agree). */
export function applyEvent(status: NodeStatus, event: NodeEvent): NodeStatus {
  switch (event.type) {
    case "round":
      return { ...status, round: event.round };
    case "peers":
      return { ...status, peers: event.peers };
    case "metrics":
      return {
        ...status,
        history: [...status.history.filter((m) => m.roundId !== event.metrics.roundId), event.metrics],
      };
    case "slash":
      return { ...status, slashes: [...status.slashes, event.slash] };
    case "health":
      return { ...status, ready: event.ready, alerts: event.alerts };
    case "timeline": {
      const others = (status.timeline ?? []).filter((e) => e.roundId !== event.entry.roundId);
      const timeline = [...others, event.entry].sort((a, b) => Number(BigInt(a.roundId) - BigInt(b.roundId)));
      return { ...status, timeline };
    }
  }
}

const EVENT_TYPES: readonly NodeEvent["type"][] = [
  "round",
  "peers",
  "metrics",
  "slash",
  "timeline",
  "health",
];

export interface EventSubscription {
  close(): void;
}

/**
 * Opens `GET /api/events`. `onOpen` runs on every (re)connection, so the caller can refetch the snapshot and
 * miss nothing; the browser reconnects by itself after `onError`.
 */
export function subscribeEvents(
  handlers: { onEvent: (event: NodeEvent) => void; onOpen: () => void; onError: () => void },
  base = "",
): EventSubscription {
  const source = new EventSource(`${base}/api/events`);
  source.addEventListener("open", handlers.onOpen);
  source.addEventListener("error", handlers.onError);
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (message: MessageEvent<string>) => {
      try {
        handlers.onEvent(JSON.parse(message.data) as NodeEvent);
      } catch {
        // a malformed event is dropped; the next snapshot corrects the view
      }
    });
  }
  return { close: () => source.close() };
}
