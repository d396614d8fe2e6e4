/** "Network": the node, the current round and its deadlines, the staked peers and the slashing events. */
import { byId, columnLabels, row, setText } from "./dom.ts";
import { formatDuration, formatVain, shortHex } from "./format.ts";
import { chainName, chainNowMs, nodePaused, state, youMark } from "./state.ts";

/**
 * For this long after the node (re)started, a peer it has not reached yet is "connecting…", not "not
 * connected": the mesh redials its known peers at start, which takes a few heartbeats (ms).
 */
export const PEER_RECONNECT_GRACE_MS = 60_000;

export function renderNetwork(): void {
  const status = state.status;
  if (status === undefined) return;
  setText("node-peer-id", status.peerId);
  setText("node-version", status.version);
  setText("node-chain", `${chainName(status.chainId)} at ${status.rpcUrl}`);
  const alerts = status.alerts ?? [];
  setText(
    "node-ready",
    status.ready
      ? "ready"
      : alerts.length > 0
        ? `not ready: ${alerts.map((a) => a.code.toLowerCase().replace("_", " ")).join(", ")}`
        : "starting / not ready",
  );
  setText("total-stake", state.totalStake === undefined ? "—" : formatVain(state.totalStake));
  renderRound();
  renderPeers();
  renderSlashes();
}

function renderRound(): void {
  const round = state.status?.round ?? null;
  setText("round-id", round === null ? "none yet" : `#${round.roundId} (task ${round.taskId})`);
  // A paused node's round is what it last saw of a chain it no longer follows: say so next to the phase.
  const phase = round?.phase ?? "idle";
  setText("round-phase", nodePaused() && round !== null ? `${phase} (stale: node paused)` : phase);
  byId("round-phase").dataset["phase"] = phase;
  setText("round-trainers", round === null ? "—" : String(round.trainers));
  const mine = youMark(round?.aggregator) !== "";
  setText(
    "round-aggregator",
    round?.aggregator === undefined
      ? "—"
      : `${round.aggregator}${mine ? " (you: this node aggregates the round)" : ""}`,
  );
  byId("round-aggregator").dataset["own"] = String(mine);
  renderDeadlines();
}

export function renderDeadlines(): void {
  const round = state.status?.round;
  const list = byId("round-deadlines");
  if (round === undefined || round === null || ["finalized", "failed", "idle"].includes(round.phase)) {
    list.replaceChildren();
    return;
  }
  const now = chainNowMs();
  const items = (["commit", "aggregate", "challenge"] as const).flatMap((key) => {
    const at = round.deadlines[key];
    if (at === undefined) return [];
    const li = document.createElement("li");
    const left = at - now;
    li.textContent = `${key[0]?.toUpperCase()}${key.slice(1)} deadline: ${new Date(at).toLocaleTimeString()} (${left > 0 ? `in ${formatDuration(left)}` : "passed"})`;
    return [li];
  });
  list.replaceChildren(...items);
}

function renderPeers(): void {
  const status = state.status;
  if (status === undefined) return;
  const labels = columnLabels("peers-body");
  const justStarted = Date.now() - status.startedAt < PEER_RECONNECT_GRACE_MS;
  const peersBody = byId("peers-body");
  peersBody.replaceChildren(
    ...(status.peers.length === 0
      ? [row(["No staked peers yet"], { span: labels.length })]
      : status.peers.map((peer) =>
          row(
            [
              { text: shortHex(peer.peerId, 8), title: peer.peerId, mono: true },
              {
                text: `${shortHex(peer.operator, 4)}${youMark(peer.operator)}`,
                title: peer.operator,
                mono: true,
              },
              formatVain(BigInt(peer.stake)),
              `${Math.round(peer.reputation * 100)}%`,
              peer.connected
                ? `connected${peer.latencyMs === undefined ? "" : `, ${peer.latencyMs} ms`}`
                : justStarted
                  ? "connecting…"
                  : "not connected",
            ],
            { labels },
          ),
        )),
  );
  peersBody.dataset["count"] = String(status.peers.length);
}

function renderSlashes(): void {
  const status = state.status;
  if (status === undefined) return;
  const labels = columnLabels("slashes-body");
  const slashesBody = byId("slashes-body");
  slashesBody.replaceChildren(
    ...(status.slashes.length === 0
      ? [row(["No slashing so far"], { span: labels.length })]
      : [...status.slashes].reverse().map((slash) => {
          const you = youMark(slash.operator);
          const tr = row(
            [
              { text: `${shortHex(slash.operator, 4)}${you}`, title: slash.operator, mono: true },
              formatVain(BigInt(slash.amount)),
              slash.reason,
              { text: slash.blockNumber, title: slash.txHash },
            ],
            { labels },
          );
          if (you !== "") tr.className = "own";
          return tr;
        })),
  );
  slashesBody.dataset["count"] = String(status.slashes.length);
}
