/**
 * The guarded mean's silent-row evidence on compressed updates (guarded-mean.ts): how much of each update's energy
 * sits in input rows the honest majority leaves alone, and whether several updates put it in the same rows.
 */
import { dot, median } from "./guard-statistics.ts";

/**
 * Above this median share of non-zero coordinates updates count as dense and the silent test stays per
 * coordinate; the node's top-k updates carry 5%.
 */
export const MAX_DENSITY_FOR_ROWS = 0.5;

/** The median share of non-zero coordinates among the updates. */
export function medianDensity(rows: readonly Float32Array[]): number {
  return median(
    rows.map((row) => {
      let nonZero = 0;
      for (const x of row) if (x !== 0) nonZero++;
      return row.length === 0 ? 0 : nonZero / row.length;
    }),
  );
}

/**
 * The guard's silent part per update (`silentGroupEnergy`), as the guard reports it (guarded-mean.ts
 * `GuardResult.silentRows`): each group where some of its energy counted, with that energy as a share of
 * `typicalEnergy` at the length it was judged (`unit`). Also adds each update's counted energy to `silent`.
 */
export function silentRowParts(
  rows: readonly Float32Array[],
  groups: Uint32Array,
  trim: number,
  unit: readonly number[],
  typicalEnergy: number,
  factor: number,
  silent: Float64Array,
): { groups: number[][]; silentRows: Map<number, number>[] } {
  const { parts, amounts } = silentGroupEnergy(rows, groups, trim, unit, factor, silent);
  const silentRows = parts.map(
    (p, i) =>
      new Map(
        p.map((g, k) => [g, typicalEnergy === 0 ? 0 : (amounts[i]![k]! * unit[i]! ** 2) / typicalEnergy]),
      ),
  );
  return { groups: parts, silentRows };
}

/**
 * The guard's `silentRows` (guarded-mean.ts) from a round's revealed updates alone, as `guardUpdates` computes
 * them with `groups`, `byzantineFraction` and `silentRowFactor`: what a node that did not aggregate the round
 * folds into its silent memories (silent-history.ts). They depend on the updates only, not on the sample counts,
 * the previous step or anyone's trust, so every node holding the round's updates gets the same ones. Empty
 * parts for dense updates (the guard judges those per coordinate and keeps no silent rows).
 */
export function revealedSilentRows(
  rows: readonly Float32Array[],
  groups: Uint32Array,
  byzantineFraction: number,
  silentRowFactor: number,
): Map<number, number>[] {
  const n = rows.length;
  const empty = () => rows.map(() => new Map<number, number>());
  if (n === 0 || medianDensity(rows) >= MAX_DENSITY_FOR_ROWS) return empty();
  const energies = rows.map((row) => dot(row, row));
  const typicalEnergy = median(energies);
  const typicalNorm = Math.sqrt(typicalEnergy);
  const unit = energies.map((e) => (e > typicalEnergy ? typicalNorm / Math.sqrt(e) : 1));
  const trim = Math.min(Math.floor(byzantineFraction * n), Math.floor((n - 1) / 2));
  return silentRowParts(rows, groups, trim, unit, typicalEnergy, silentRowFactor, new Float64Array(n))
    .silentRows;
}

/**
 * Adds to `silent[i]` update i's energy in each group (coordinate-groups.ts) above `factor` times the group's
 * (`trim` + 1)-th largest energy, each energy taken at most at the typical length (`unit`, as the bounds judge).
 * At most `trim` updates cannot lift that reference above the largest honest energy in the group. A group at
 * most `trim` updates touch has reference 0: the honest majority leaves it at exactly zero, and all of an
 * update's energy there counts, as before. Why not only those: on top-k updates an honest trainer now and then
 * sends a coordinate in a row near the digit strokes; three attackers with their trigger in that row made its
 * count four, the row escaped, and the coordinates only they sent have a trimmed range of [0, 0], which the
 * per-coordinate bounds skip (touched-row-backdoor: 0.61 backdoor success at top-k 0.65% 4-bit, 0.89 at 5%
 * float32, IID 30%, seed 1). Against the reference an attacker gets at most `factor` times the largest honest
 * energy in such a row, and the silent bound over the rest. Returns, per update, the groups where some of its
 * energy counted (its silent part) and, in the same order, the energy that counted there (at its own length).
 */
export function silentGroupEnergy(
  rows: readonly Float32Array[],
  groups: Uint32Array,
  trim: number,
  unit: readonly number[],
  factor: number,
  silent: Float64Array,
): { parts: number[][]; amounts: number[][] } {
  const parts: number[][] = rows.map(() => []);
  const amounts: number[][] = rows.map(() => []);
  const n = rows.length;
  const energy = new Float64Array(n);
  const sorted = new Float64Array(n);
  for (let g = 0; g + 1 < groups.length; g++) {
    const start = groups[g]!;
    const end = groups[g + 1]!;
    let touching = 0;
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      let e = 0;
      for (let j = start; j < end; j++) e += row[j]! ** 2;
      energy[i] = e * unit[i]! ** 2;
      if (e > 0) touching++;
    }
    if (touching === 0) continue;
    sorted.set(energy);
    sorted.sort();
    const reference = factor * sorted[n - 1 - trim]!;
    for (let i = 0; i < n; i++) {
      if (energy[i]! <= reference) continue;
      const counted = (energy[i]! - reference) / unit[i]! ** 2;
      silent[i]! += counted;
      parts[i]!.push(g);
      amounts[i]!.push(counted);
    }
  }
  return { parts, amounts };
}

/**
 * Cosines between updates' silent parts (the rows `parts` lists for each, whole rows), as an n × n matrix (0 where
 * either part is empty). Honest trainers' silent rows are the few rows their own top-k happened to reach, different
 * for each; attackers pushing one trigger put theirs in the same rows, the same way.
 */
export function silentPartCosines(
  rows: readonly Float32Array[],
  groups: Uint32Array,
  parts: readonly (readonly number[])[],
): Float64Array {
  const n = rows.length;
  const rowDot = (a: number, b: number, g: number) => {
    let d = 0;
    for (let j = groups[g]!; j < groups[g + 1]!; j++) d += rows[a]![j]! * rows[b]![j]!;
    return d;
  };
  const norms = parts.map((p, i) => Math.sqrt(p.reduce((e, g) => e + rowDot(i, i, g), 0)));
  const sets = parts.map((p) => new Set(p));
  const cosines = new Float64Array(n * n);
  for (let a = 0; a < n; a++)
    for (let b = a + 1; b < n; b++) {
      if (norms[a] === 0 || norms[b] === 0) continue;
      let d = 0;
      for (const g of parts[a]!) if (sets[b]!.has(g)) d += rowDot(a, b, g);
      const c = d / (norms[a]! * norms[b]!);
      cosines[a * n + b] = c;
      cosines[b * n + a] = c;
    }
  return cosines;
}
