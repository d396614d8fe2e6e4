/** DOM helpers shared by the dashboard's views. */

export function byId<T extends Element = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`dashboard markup lacks #${id}`);
  return node as unknown as T;
}

export function setText(id: string, text: string, title?: string): void {
  const node = byId(id);
  if (node.textContent !== text) node.textContent = text;
  if (title !== undefined) node.title = title;
}

export type Cell =
  | string
  | { readonly text: string; readonly title?: string; readonly mono?: boolean; readonly className?: string };

/**
 * A table row. Each cell carries its column's header as `data-label`, so a phone-width stylesheet can stack the
 * cells as "label: value" lines instead of cutting the table off (styles.css, `.stack`).
 */
export function row(
  cells: readonly Cell[],
  options: { span?: number; labels?: readonly string[] } = {},
): HTMLTableRowElement {
  const tr = document.createElement("tr");
  cells.forEach((cell, index) => {
    const td = document.createElement("td");
    const classes: string[] = [];
    if (typeof cell === "string") td.textContent = cell;
    else {
      td.textContent = cell.text;
      if (cell.title !== undefined) td.title = cell.title;
      if (cell.mono === true) classes.push("mono");
      if (cell.className !== undefined) classes.push(cell.className);
    }
    const label = options.labels?.[index];
    if (label !== undefined) td.dataset["label"] = label;
    if (options.span !== undefined) {
      td.colSpan = options.span;
      classes.push("empty");
    }
    if (classes.length > 0) td.className = classes.join(" ");
    tr.append(td);
  });
  return tr;
}

/** The header texts of the table that holds `tbodyId`, for `row`'s labels. */
export function columnLabels(tbodyId: string): string[] {
  const table = byId(tbodyId).closest("table");
  return [...(table?.querySelectorAll("thead th") ?? [])].map((th) => th.textContent?.trim() ?? "");
}
