/**
 * Silent rows against the model's own drift: how far an update's silent part (the rows the round's honest majority
 * leaves silent or rare, guarded-mean.ts `silentRows`) points the way the global model has already moved there.
 *
 * Why: every per-trainer silent memory (silent-history.ts) compares a trainer's silent part with its own past in
 * the same rows, decayed by half per round, so a trigger pushed in parts, one part a round in turn, meets its past
 * at 1/8 of its size (rotating-trigger-backdoor: 0.497 backdoor success at 30% Dirichlet 0.5 compressed), and a
 * trigger handed from one trainer to another meets no past at all. What the model learned in those rows does not
 * decay with the rotation: it is the sum of the accepted pushes there, whoever made them and whenever. So the
 * memory is the model's: the sum of the posted aggregates (public: each round's weighted mean of the revealed
 * updates with the posted weights), one model-sized vector per task, not per trainer. An update whose silent part
 * points along that drift (cosine above `maxCosine`) with enough energy to matter is pushing a pattern the model
 * has been pushed into before in rows the honest majority does not move: what a backdoor trigger needs.
 *
 * The decision is a rejection (weight 0), so the output stays the weighted mean of committed updates with public
 * weights, and the proof binds it; the drift is recomputable by anyone from the posted aggregates.
 */

export const SILENT_DRIFT_DEFAULTS = {
  /** Above this cosine between an update's silent part and the model's drift in the same rows, it is rejected. */
  maxCosine: Infinity,
  /** ... when its silent energy is at least this share of the typical energy (silent-history.ts `minEnergy`). */
  minEnergy: 0.02,
  /** Below this many updates the test is off (the guard's relative checks stop there too). */
  minUpdates: 5,
} as const;

export type SilentDriftOptions = { -readonly [K in keyof typeof SILENT_DRIFT_DEFAULTS]?: number };

/** One round's scores against the model's drift. */
export interface SilentDriftRound {
  /** Per update: the cosine of its silent part with the drift in the same rows (0 when either is empty). */
  readonly cosines: number[];
  /**
   * Per update: the mean over its silent rows of the row's cosine with the drift there, each row weighted by the
   * update's energy in it (a row's cosine does not depend on how far the model moved there in total, which the
   * honest majority's rows dominate).
   */
  readonly rowCosines: number[];
  /**
   * Per update: its silent energy along the drift, Σ over its silent rows of its energy there times the row's
   * cosine squared (positive cosines only), as a share of the typical energy. Energy in other rows does not lower it,
   * as it lowers a cosine.
   */
  readonly along: number[];
  /** Per update: the drift's energy in its silent rows, as a share of the typical energy. */
  readonly driftEnergies: number[];
  /** Per update: its silent energy, as a share of the typical energy (the guard's). */
  readonly energies: number[];
  readonly over: boolean[];
}

/** Scores each update's silent part (`silentRows`, the guard's) against `drift` (undefined: no past yet). */
export function scoreSilentDrift(
  drift: Float32Array | undefined,
  updates: readonly Float32Array[],
  groups: Uint32Array,
  silentRows: readonly ReadonlyMap<number, number>[],
  typicalEnergy: number,
  options: SilentDriftOptions = {},
): SilentDriftRound {
  const o = { ...SILENT_DRIFT_DEFAULTS, ...options };
  const cosines: number[] = [];
  const rowCosines: number[] = [];
  const along: number[] = [];
  const driftEnergies: number[] = [];
  const energies = silentRows.map((r) => [...r.values()].reduce((a, b) => a + b, 0));
  updates.forEach((u, i) => {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    let weighted = 0;
    let projected = 0;
    for (const g of silentRows[i]!.keys()) {
      let rab = 0;
      let raa = 0;
      let rbb = 0;
      for (let j = groups[g]!; j < groups[g + 1]!; j++) {
        raa += u[j]! ** 2;
        if (drift !== undefined) {
          rab += u[j]! * drift[j]!;
          rbb += drift[j]! ** 2;
        }
      }
      ab += rab;
      aa += raa;
      bb += rbb;
      if (raa > 0 && rbb > 0) {
        weighted += (raa * rab) / Math.sqrt(raa * rbb);
        if (rab > 0) projected += (rab * rab) / rbb;
      }
    }
    rowCosines.push(aa === 0 ? 0 : weighted / aa);
    along.push(typicalEnergy === 0 ? 0 : projected / typicalEnergy);
    cosines.push(aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb));
    driftEnergies.push(typicalEnergy === 0 ? 0 : bb / typicalEnergy);
  });
  const over = rowCosines.map(
    (c, i) => updates.length >= o.minUpdates && energies[i]! >= o.minEnergy && c > o.maxCosine,
  );
  return { cosines, rowCosines, along, driftEnergies, energies, over };
}

/** The drift after a round whose global step was `step` (a new vector). */
export function addDrift(drift: Float32Array | undefined, step: Float32Array): Float32Array {
  const next = drift === undefined ? new Float32Array(step.length) : Float32Array.from(drift);
  for (let j = 0; j < step.length; j++) next[j]! += step[j]!;
  return next;
}
