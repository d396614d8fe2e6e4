/**
 * Small inline-SVG charts (a line per series, bars for bytes): a few dozen points need no chart library.
 * Each chart gets an accessible name that states the latest value, since screen readers cannot read a path.
 * A failed round is drawn apart (a cross off the line, a hatched red bar) and counted in the name: plotting it
 * like a finalized round would claim a model the network never accepted.
 */
const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 320;
const HEIGHT = 150;
const PAD = { left: 62, right: 10, top: 10, bottom: 24 };
/** Bars stay narrow when only a few rounds exist. */
const MAX_BAR_WIDTH = 36;

export interface ChartPoint {
  readonly label: string;
  readonly value: number;
  /** The round failed. */
  readonly failed?: boolean;
}

function failedNote(points: readonly ChartPoint[]): string {
  const failed = points.filter((p) => p.failed === true).length;
  return failed === 0 ? "" : `, ${failed} failed`;
}

function pointTitle(p: ChartPoint, format: (v: number) => string): string {
  return `round ${p.label}${p.failed === true ? " (failed)" : ""}: ${format(p.value)}`;
}

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function frame(svg: SVGSVGElement, min: number, max: number, format: (v: number) => string): void {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  for (const fraction of [0, 0.5, 1]) {
    const y = PAD.top + (1 - fraction) * (HEIGHT - PAD.top - PAD.bottom);
    svg.append(el("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y, y2: y, class: "grid" }));
    svg.append(
      el(
        "text",
        { x: PAD.left - 6, y: y + 4, class: "axis", "text-anchor": "end" },
        format(min + fraction * (max - min)),
      ),
    );
  }
}

function empty(svg: SVGSVGElement, name: string): void {
  svg.replaceChildren(
    el(
      "text",
      { x: WIDTH / 2, y: HEIGHT / 2, class: "axis", "text-anchor": "middle" },
      "No finished rounds yet",
    ),
  );
  svg.setAttribute("aria-label", `${name}: no finished rounds yet`);
}

function xOf(index: number, count: number): number {
  const span = WIDTH - PAD.left - PAD.right;
  return PAD.left + (count === 1 ? span / 2 : (index / (count - 1)) * span);
}

/** A line chart; `range` fixes the y axis (e.g. [0, 1] for accuracy), else it fits the data. */
export function renderLineChart(
  svg: SVGSVGElement,
  name: string,
  points: readonly ChartPoint[],
  format: (v: number) => string,
  range?: readonly [number, number],
): void {
  const finite = points.filter((p) => Number.isFinite(p.value));
  if (finite.length === 0) return empty(svg, name);
  const values = finite.map((p) => p.value);
  const min = range?.[0] ?? Math.min(0, ...values);
  const max = range?.[1] ?? Math.max(...values, min + 1e-9);
  frame(svg, min, max, format);
  const yOf = (v: number): number =>
    PAD.top + (1 - (v - min) / (max - min)) * (HEIGHT - PAD.top - PAD.bottom);
  const coords = finite.map((p, i) => [xOf(i, finite.length), yOf(p.value)] as const);
  svg.append(
    el("polyline", {
      points: coords
        .filter((_, i) => finite[i]?.failed !== true)
        .map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`)
        .join(" "),
      class: "series",
    }),
  );
  finite.forEach((p, i) => {
    const [x, y] = coords[i] ?? [0, 0];
    const mark =
      p.failed === true
        ? el("path", {
            d: `M${(x - 4).toFixed(1)},${(y - 4).toFixed(1)}l8,8m0,-8l-8,8`,
            class: "failed-mark",
          })
        : el("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 3, class: "dot" });
    mark.append(el("title", {}, pointTitle(p, format)));
    svg.append(mark);
  });
  const first = finite[0];
  const last = finite.at(-1);
  if (first !== undefined && last !== undefined) {
    svg.append(el("text", { x: PAD.left, y: HEIGHT - 6, class: "axis" }, `round ${first.label}`));
    if (finite.length > 1)
      svg.append(
        el(
          "text",
          { x: WIDTH - PAD.right, y: HEIGHT - 6, class: "axis", "text-anchor": "end" },
          `round ${last.label}`,
        ),
      );
    svg.setAttribute(
      "aria-label",
      `${name}: ${finite.length} rounds${failedNote(finite)}, latest ${format(last.value)} in round ${last.label}`,
    );
  }
}

/** A bar chart from zero. */
export function renderBarChart(
  svg: SVGSVGElement,
  name: string,
  points: readonly ChartPoint[],
  format: (v: number) => string,
): void {
  if (points.length === 0) return empty(svg, name);
  const max = Math.max(...points.map((p) => p.value), 1);
  frame(svg, 0, max, format);
  const span = WIDTH - PAD.left - PAD.right;
  const slot = span / points.length;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const barWidth = Math.min(slot * 0.7, MAX_BAR_WIDTH);
  points.forEach((p, i) => {
    // A failed round with nothing to show still gets a sliver, so it is not mistaken for a missing round.
    const h = Math.max((p.value / max) * plotHeight, p.failed === true ? 2 : 0);
    const bar = el("rect", {
      x: (PAD.left + i * slot + (slot - barWidth) / 2).toFixed(1),
      y: (PAD.top + plotHeight - h).toFixed(1),
      width: barWidth.toFixed(1),
      height: h.toFixed(1),
      class: p.failed === true ? "bar failed" : "bar",
    });
    bar.append(el("title", {}, pointTitle(p, format)));
    svg.append(bar);
  });
  const last = points.at(-1);
  if (last !== undefined)
    svg.setAttribute(
      "aria-label",
      `${name}: ${points.length} rounds${failedNote(points)}, latest ${format(last.value)} in round ${last.label}`,
    );
}
