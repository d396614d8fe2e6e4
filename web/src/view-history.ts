/**
 * History views: the training plots (failed rounds drawn apart), what this node's operator earned per round,
 * and the round timeline (opened, closed, how long it took, who aggregated, why it failed). The timeline and
 * earnings come from chain events the node replays at start, so they read the same after a node restart.
 */
import { formatUnits } from "viem";

import type { NodeStatus } from "./api.ts";
import { renderBarChart, renderLineChart } from "./charts.ts";
import type { ChartPoint } from "./charts.ts";
import { byId, columnLabels, row, setText } from "./dom.ts";
import { formatBytes, formatDuration, formatVain, shortHex } from "./format.ts";
import { state, youMark } from "./state.ts";

type TimelineEntry = NonNullable<NodeStatus["timeline"]>[number];

/** Rows the timeline table shows (newest first); the charts use the whole timeline the node keeps. */
export const TIMELINE_ROWS = 20;

export function renderHistory(): void {
  const status = state.status;
  if (status === undefined) return;
  const timeline = status.timeline ?? [];
  const failed = new Set(timeline.filter((e) => e.phase === "failed").map((e) => e.roundId));
  renderTraining(status, failed);
  renderEarnings(timeline);
  renderTimeline(timeline);
}

function renderTraining(status: NodeStatus, failed: ReadonlySet<string>): void {
  const history = [...status.history].sort((a, b) => Number(BigInt(a.roundId) - BigInt(b.roundId)));
  const point = (roundId: string, value: number | null): ChartPoint => ({
    label: roundId,
    // null: the node could not evaluate the round's model (it was down); NaN keeps it off the plot.
    value: value ?? Number.NaN,
    failed: failed.has(roundId),
  });
  renderLineChart(
    byId<SVGSVGElement>("chart-accuracy"),
    "Accuracy per round",
    history.map((m) => point(m.roundId, m.accuracy)),
    (v) => `${(v * 100).toFixed(0)}%`,
    [0, 1],
  );
  renderLineChart(
    byId<SVGSVGElement>("chart-loss"),
    "Loss per round",
    history.map((m) => point(m.roundId, m.loss)),
    (v) => v.toFixed(2),
  );
  renderBarChart(
    byId<SVGSVGElement>("chart-bytes"),
    "Bytes per round",
    history.map((m) => point(m.roundId, m.bytesSent + m.bytesReceived)),
    formatBytes,
  );
}

/** VAIN as a plottable number (display only: 18 decimals exceed a double, the table keeps exact amounts). */
function vainNumber(wei: string): number {
  return Number(formatUnits(BigInt(wei), 18));
}

function renderEarnings(timeline: readonly TimelineEntry[]): void {
  const closed = timeline.filter((e) => e.phase === "finalized" || e.phase === "failed");
  const total = closed.reduce((sum, e) => sum + BigInt(e.reward), 0n);
  const paid = closed.filter((e) => BigInt(e.reward) > 0n).length;
  setText(
    "earned-total",
    closed.length === 0
      ? "No closed rounds yet"
      : `${formatVain(total)} earned in ${paid} of ${closed.length} rounds`,
  );
  renderBarChart(
    byId<SVGSVGElement>("chart-earnings"),
    "Earned per round",
    closed.map((e) => ({ label: e.roundId, value: vainNumber(e.reward), failed: e.phase === "failed" })),
    (v) => `${Number(v.toPrecision(4)).toLocaleString("en-US")} VAIN`,
  );
  renderBarChart(
    byId<SVGSVGElement>("chart-duration"),
    "Round duration",
    closed
      .filter((e) => e.openedAt !== undefined && e.closedAt !== undefined)
      .map((e) => ({
        label: e.roundId,
        value: ((e.closedAt ?? 0) - (e.openedAt ?? 0)) / 1000,
        failed: e.phase === "failed",
      })),
    (v) => formatDuration(v * 1000),
  );
}

function renderTimeline(timeline: readonly TimelineEntry[]): void {
  const labels = columnLabels("timeline-body");
  const body = byId("timeline-body");
  const rows = [...timeline].reverse().slice(0, TIMELINE_ROWS);
  body.replaceChildren(
    ...(rows.length === 0
      ? [row(["No rounds yet"], { span: labels.length })]
      : rows.map((entry) => {
          const you = youMark(entry.aggregator);
          const tr = row(
            [
              `#${entry.roundId}`,
              {
                text: entry.phase === "failed" ? `failed: ${entry.failure ?? "unknown reason"}` : entry.phase,
                className: `outcome outcome-${entry.phase}`,
              },
              {
                text: entry.closedAt === undefined ? "—" : new Date(entry.closedAt).toLocaleTimeString(),
                title: `opened ${timeOf(entry.openedAt)}, closed ${timeOf(entry.closedAt)} (chain time)`,
              },
              entry.openedAt === undefined || entry.closedAt === undefined
                ? "—"
                : formatDuration(entry.closedAt - entry.openedAt),
              entry.aggregator === undefined
                ? { text: "—" }
                : { text: `${shortHex(entry.aggregator, 4)}${you}`, title: entry.aggregator, mono: true },
              `${formatVain(BigInt(entry.reward))}${entry.trained ? "" : entry.ownAggregator === true ? " (aggregator)" : " (did not train)"}`,
            ],
            { labels },
          );
          tr.dataset["round"] = entry.roundId;
          tr.dataset["phase"] = entry.phase;
          if (entry.ownAggregator === true) tr.dataset["ownAggregator"] = "true";
          return tr;
        })),
  );
  body.dataset["count"] = String(timeline.length);
}

/** Chain time of an event, as a local date and time. */
function timeOf(ms: number | undefined): string {
  return ms === undefined ? "—" : new Date(ms).toLocaleString();
}
