/**
 * Per-row clipping of the rows the round's honest majority leaves silent or rare (bench-only: the clipped vectors
 * are not the committed ones, so the circuit's statement, a weighted mean of the committed updates, no longer
 * binds the output; docs/protocol.md §8).
 *
 * Why: every test of silent rows that rejects an update has to tell a trigger from an honest trainer's rare rows,
 * and a trigger pushed in parts, one part a round (rotating-trigger-backdoor), evades each memory of the past. A
 * clip needs no memory and no decision: in each input row, each update's energy is cut to `factor` times the
 * row's (t + 1)-th largest energy (t = the assumed Byzantine count), which at most t attackers cannot lift above
 * the largest honest energy there. A row at most t updates touch is cut to 0: the honest majority does not move
 * it, so nobody does. FLAME's clipping (Nguyen et al., USENIX Security 2022) per row instead of per update, on
 * the rows where backdoors live.
 */
import { dot, median } from "./guard-statistics.ts";

/**
 * `rows` with each input row (`groups`) of each update cut to at most `factor` times the row's (`trim` + 1)-th
 * largest energy, energies taken with each update at most at the typical length as the guard judges them (new
 * vectors; rows under the cut are copied as they are).
 */
export function clipSilentRows(
  rows: readonly Float32Array[],
  groups: Uint32Array,
  trim: number,
  factor: number,
): Float32Array[] {
  const n = rows.length;
  const out = rows.map((r) => Float32Array.from(r));
  if (n === 0) return out;
  const energies = rows.map((r) => dot(r, r));
  const typicalEnergy = median(energies);
  const unit = energies.map((e) => (e > typicalEnergy ? Math.sqrt(typicalEnergy / e) : 1));
  const energy = new Float64Array(n);
  const sorted = new Float64Array(n);
  for (let g = 0; g + 1 < groups.length; g++) {
    const start = groups[g]!;
    const end = groups[g + 1]!;
    let touching = 0;
    for (let i = 0; i < n; i++) {
      let e = 0;
      for (let j = start; j < end; j++) e += rows[i]![j]! ** 2;
      energy[i] = e * unit[i]! ** 2;
      if (e > 0) touching++;
    }
    if (touching === 0) continue;
    sorted.set(energy);
    sorted.sort();
    const cut = factor * sorted[n - 1 - trim]!;
    for (let i = 0; i < n; i++) {
      if (energy[i]! <= cut) continue;
      const scale = Math.sqrt(cut / energy[i]!);
      for (let j = start; j < end; j++) out[i]![j]! *= scale;
    }
  }
  return out;
}
