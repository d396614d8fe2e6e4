/**
 * Silent rows across rounds: per trainer, how much of the energy it puts into rows the round's honest majority
 * leaves silent or rare (the guard's silent part, guarded-mean.ts `silentRows`) goes, round after round, into the
 * same rows.
 *
 * Why: the per-round silent bound leaves every update a budget (on the node's top-k 0.65% updates honest trainers
 * hold 0.1-0.25 of the typical energy in such rows, so the bound sits at 0.4-0.75), and attackers that split a
 * trigger's rows among themselves spend it on the trigger every round, which nothing opposes between rounds
 * (touched-row-backdoor: 0.99 backdoor success at 30% Dirichlet 0.5). A backdoor must be pushed into the same rows
 * round after round, since the trigger is fixed when the model learns it. An honest trainer's silent part is the few
 * rows its top-k reached in that round, which move with its minibatches, its error-feedback residual and the model.
 * So the evidence is the *recurrent* part: this round's silent energy in rows where the trainer's own decayed
 * memory of silent energy is non-zero, at most that memory (Σ_g min(now_g, memory_g)), summed with decay over
 * rounds. FoolsGold's point (Fung et al., RAID 2020: sybils are told apart by their history, not one round) turned
 * to a single trainer's own history, and "Can You Really Backdoor FL?" (Sun et al. 2019): a backdoor needs a
 * sustained push, so bounding what a trainer may sustain bounds the backdoor.
 *
 * Energy alone stops adaptive attackers only at the honest range, where a trigger still takes (see
 * `updateSilentDirection` below for the direction evidence that separates them there).
 *
 * The decision is a rejection (weight 0), so the output stays the weighted mean of committed updates with public
 * weights, and the proof binds it. Recomputing it needs each trainer's earlier revealed updates (their silent
 * parts, recomputed by the guard from those rounds' updates), as trainer-trust.ts's deviation does.
 */
import { dot, median } from "./guard-statistics.ts";

export const SILENT_HISTORY_DEFAULTS = {
  /**
   * Per round, both a trainer's row memory and its evidence keep this share: a push three rounds back counts 1/8.
   * A steady push of e per round then holds the evidence at 2e, so an attacker kept under the bound sustains half
   * of it per round.
   */
  memory: 0.5,
  /** A row's memory below this share of the typical energy is dropped (keeps each record to the rows that matter). */
  forgetBelow: 1e-4,
  /**
   * The evidence bound is at least this share of the typical energy. Measured (bench:robust --compress, top-k 0.65%
   * 4-bit, 10 trainers, 30%, seed 1, 8 rounds, --log --evidence): honest trainers' evidence at most 0.088 (Dirichlet
   * 0.5) and 0.053 (IID), their recurrent energy per round at most 0.051; attackers splitting a trigger's rows
   * (touched-row-backdoor) 0.30-0.76 and 0.30-0.84 before the bound, adaptive-backdoor 0.18-0.43 and 0.19-0.84.
   * 0.05 is the floor for rounds where the median is near 0 (first rounds, and top-k 5% updates where honest silent
   * shares are 0.001-0.03); the factor below sets it above that.
   */
  minEvidence: 0.05,
  /**
   * ... and at least this multiple of the round's median evidence (at most t < n/2 attackers cannot move the median
   * past the honest values). Measured as above: the largest honest evidence at most 2.2 times the round's median.
   */
  evidenceFactor: 3,
  /** Below this many updates the bound is not applied (the guard's relative checks stop there too). */
  minUpdates: 5,
  /**
   * A trainer's record is dropped once it has not been seen for this many rounds (memory 0.5: 1/65536 left), as
   * trainer-trust.ts forgets.
   */
  forgetAfterRounds: 16,
} as const;

export type SilentHistoryOptions = { -readonly [K in keyof typeof SILENT_HISTORY_DEFAULTS]?: number };

/** What the rule remembers about one trainer's silent rows. */
export interface SilentRecord {
  /** Decayed silent energy per row (share of the typical energy), as of `lastRound`. */
  readonly rows: ReadonlyMap<number, number>;
  /** Decayed sum of its recurrent silent energy, as of `lastRound`. */
  readonly evidence: number;
  readonly lastRound: number;
}

export interface SilentHistoryRound {
  /** Records after this round (trainers absent from it keep theirs until forgotten). */
  readonly records: Map<string, SilentRecord>;
  /** Per update: this round's recurrent silent energy, the evidence after it, and whether that is over the bound. */
  readonly recurrent: number[];
  readonly evidence: number[];
  readonly over: boolean[];
  /** The round's evidence bound (Infinity under `minUpdates`). */
  readonly bound: number;
}

/**
 * Scores one round: `trainers` names the updates in order, `silentRows` is the guard's silent part per update
 * (guarded-mean.ts `GuardResult.silentRows`), `round` numbers the round (the chain's round id in the node; gaps decay
 * the memory as rounds do). Deterministic in its inputs: the records are themselves recomputable from earlier
 * rounds' revealed updates. Every update is scored, rejected or not: a rejected push still counts as having been made.
 */
export function updateSilentHistory(
  previous: ReadonlyMap<string, SilentRecord>,
  trainers: readonly string[],
  silentRows: readonly ReadonlyMap<number, number>[],
  round: number,
  options: SilentHistoryOptions = {},
): SilentHistoryRound {
  const o = { ...SILENT_HISTORY_DEFAULTS, ...options };
  const n = trainers.length;
  const records = new Map(previous);
  const recurrent: number[] = [];
  const evidence: number[] = [];
  trainers.forEach((trainer, i) => {
    const before = previous.get(trainer);
    const decay = before === undefined ? 0 : o.memory ** Math.max(0, round - before.lastRound);
    const now = silentRows[i]!;
    // min, not the product: energy in a row the trainer never used before counts nothing, however large.
    let again = 0;
    for (const [g, e] of now) again += Math.min(e, decay * (before?.rows.get(g) ?? 0));
    const rows = new Map<number, number>();
    for (const [g, e] of before?.rows ?? []) if (decay * e >= o.forgetBelow) rows.set(g, decay * e);
    for (const [g, e] of now) rows.set(g, (rows.get(g) ?? 0) + e);
    const total = decay * (before?.evidence ?? 0) + again;
    recurrent.push(again);
    evidence.push(total);
    records.set(trainer, { rows, evidence: total, lastRound: round });
  });
  for (const [trainer, record] of records)
    if (record.lastRound <= round - o.forgetAfterRounds) records.delete(trainer);
  const bound = n < o.minUpdates ? Infinity : Math.max(o.minEvidence, o.evidenceFactor * median(evidence));
  return { records, recurrent, evidence, over: evidence.map((e) => e > bound), bound };
}

/**
 * The direction a trainer keeps pushing: per trainer, a decayed sum of its update's values in each row it sent
 * (`SILENT_HISTORY_DEFAULTS.memory` per round). A trigger is learned by pushing its rows the same way round after
 * round; an honest trainer's silent rows carry whatever its minibatches gave there. Energy alone cannot tell them apart
 * once an adaptive attacker keeps its silent energy in the honest range (touched-row-backdoor at 30% Dirichlet 0.5:
 * 0.03-0.09 of the typical energy per round, honest up to 0.09, and 0.96 backdoor success), but the cosine between
 * this round's silent part and the trainer's own decayed past values in the same rows does: attackers 0.35-0.68 from
 * round 3 on, honest at most 0.26 (round 2-3) and 0.13 after (bench:robust --compress, seed 1, --log --evidence). A
 * cosine does not shrink with the push: an attacker can only dilute it with energy in other directions, which the
 * per-round silent bound charges for.
 */
export interface DirectionRecord {
  /** Decayed sum of its values per row it sent (row index → the row's values), as of `lastRound`. */
  readonly rows: ReadonlyMap<number, Float32Array>;
  /** Its sustained push as of `lastRound` (`SilentDirectionRound.pushes`); absent in records kept before it. */
  readonly push?: number;
  readonly lastRound: number;
}

/** One round's silent-direction scores. */
export interface SilentDirectionRound {
  readonly records: Map<string, DirectionRecord>;
  /** Per update: the cosine of its silent part with its trainer's past values in the same rows. */
  readonly cosines: number[];
  /**
   * Per update: Σ over its silent rows of the positive part of the product of its values there with its trainer's
   * decayed past values in the row, as a share of the typical energy (the round's median), this round (`along`) and
   * decayed over rounds (`pushes`): the energy it keeps pushing the same way.
   */
  readonly along: number[];
  readonly pushes: number[];
  /** The round's bound on `pushes` (`pushFactor`, `minPush`). */
  readonly pushBound: number;
  /** Per update: its silent part points too far the way its trainer's past did (`maxCosine`). */
  readonly over: boolean[];
  /** Per update: its sustained push is over `pushBound`. */
  readonly pushed: boolean[];
}

export const SILENT_DIRECTION_DEFAULTS = {
  /** Above this cosine between an update's silent part and its trainer's past values there, it is rejected. */
  maxCosine: 0.35,
  /**
   * ... when its silent energy is at least this share of the typical energy: a silent part of one or two small
   * values points anywhere by chance. Honest silent energy 0.004-0.25 in the runs above, attackers 0.15-0.35.
   */
  minEnergy: 0.02,
  /**
   * A trainer's direction memory keeps a row only while its decayed energy is at least this share of the
   * trainer's latest update's energy, and at most `maxRows` rows, the most energetic: the memory held every row a
   * trainer ever sent (up to every input row: 400 KB a trainer on the default model), and every node keeps one per
   * trainer of the task. The cap is the bound (256 of the MLP's 784 input rows; records reached 316-419 rows by round
   * 8 without it). A floor that forgets faster costs detection: rows an attacker returns to after a few rounds
   * lose their past, and 1e-3 took touched-row-backdoor from 0.753 to 0.795 (bench:robust --compress, 30% Dirichlet
   * 0.5, seeds 1-3), while the cap alone measured 0.754 and this floor alone 0.753.
   */
  forgetRowBelow: 1e-6,
  maxRows: 256,
  /**
   * SUSTAINED PUSH. An update whose sustained push (`SilentDirectionRound.pushes`: per silent row, the positive part
   * of the product of its values with its trainer's own decayed past values there, summed, as a share of the typical
   * energy, and decayed over rounds as the evidence is) is above this multiple of the round's median is rejected,
   * `silent-push`. Why not the cosine alone: an attacker holds its cosine under `maxCosine` by adding energy in other
   * silent rows, which leaves the energy it pushes along its trigger as large as before (the attacker's test,
   * silent-history.test.ts); the product does not shrink with that, and per row a row pushed against its past cannot
   * cancel the push in another. Measured (bench:robust --compress, touched-row-backdoor, 30% Dirichlet 0.5, seed 2,
   * --log --evidence): honest sustained pushes at most 1.7-2.1 times the round's median (0.047 in round 3, 0.010 in
   * round 8), the attackers at the bound once it applies; 3 (`MEASURED_PUSH_FACTOR`), above that honest ratio, took
   * touched-row-backdoor from 0.754 to 0.572 worst over seeds 1-3. Off (Infinity) by default: re-run in session 22 it
   * rejected skewed honest trainers for pushing their own rare rows the same way late in the run, when the median push
   * is near `minPush` (sign-flip at 30% Dirichlet 0.5 compressed: worst gap 1.20 -> 4.65 pt, 10 of 112 honest updates
   * of seeds 2-3 rejected for it alone; docs/protocol.md §8).
   */
  pushFactor: Infinity,
  /** ... and at least this share of the typical energy, for rounds where the median push is near 0. */
  minPush: 0.01,
} as const;

/** The sustained-push factor measured in bench:robust (`SILENT_DIRECTION_DEFAULTS.pushFactor`), off by default. */
export const MEASURED_PUSH_FACTOR = 3;

export type SilentDirectionOptions = { -readonly [K in keyof typeof SILENT_DIRECTION_DEFAULTS]?: number };

/** Scores one round's silent directions (see `DirectionRecord`); `groups` as the guard's (coordinate-groups.ts). */
export function updateSilentDirection(
  previous: ReadonlyMap<string, DirectionRecord>,
  trainers: readonly string[],
  updates: readonly Float32Array[],
  groups: Uint32Array,
  silentRows: readonly ReadonlyMap<number, number>[],
  round: number,
  options: SilentDirectionOptions & SilentHistoryOptions = {},
): SilentDirectionRound {
  const o = { ...SILENT_HISTORY_DEFAULTS, ...SILENT_DIRECTION_DEFAULTS, ...options };
  const typicalEnergy = median(updates.map((u) => dot(u, u)));
  const along: number[] = [];
  const pushes: number[] = [];
  // Kept for absent trainers too (until forgotten), as the silent history's records are.
  const records = new Map<string, DirectionRecord>();
  const cosines = trainers.map((trainer, i) => {
    const before = previous.get(trainer);
    const decay = before === undefined ? 0 : o.memory ** Math.max(0, round - before.lastRound);
    const u = updates[i]!;
    let ab = 0;
    let aa = 0;
    let bb = 0;
    // Per row, the positive part of its values' product with its own decayed past there: a row pushed against its
    // past, or noise, cannot cancel the push in another row, and noise in the past (rows it returns to with random
    // values) does not shrink it, as it shrinks the cosine.
    let aligned = 0;
    for (const g of silentRows[i]!.keys()) {
      const past = before?.rows.get(g);
      let row = 0;
      for (let j = groups[g]!, k = 0; j < groups[g + 1]!; j++, k++) {
        aa += u[j]! ** 2;
        if (past !== undefined) {
          row += u[j]! * past[k]!;
          bb += past[k]! ** 2;
        }
      }
      ab += row;
      aligned += Math.max(0, row) * decay;
    }
    const rows = new Map<number, Float32Array>();
    if (decay > 0)
      for (const [g, v] of before!.rows)
        rows.set(
          g,
          v.map((x) => x * decay),
        );
    for (let g = 0; g + 1 < groups.length; g++) {
      let sent = false;
      for (let j = groups[g]!; j < groups[g + 1]! && !sent; j++) sent = u[j] !== 0;
      if (!sent) continue;
      const row = rows.get(g) ?? new Float32Array(groups[g + 1]! - groups[g]!);
      for (let j = groups[g]!, k = 0; j < groups[g + 1]!; j++, k++) row[k]! += u[j]!;
      rows.set(g, row);
    }
    const now = typicalEnergy === 0 ? 0 : aligned / typicalEnergy;
    const push = decay * (before?.push ?? 0) + now;
    along.push(now);
    pushes.push(push);
    records.set(trainer, {
      rows: boundedRows(rows, dot(u, u), o.forgetRowBelow, o.maxRows),
      push,
      lastRound: round,
    });
    return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
  });
  for (const [trainer, record] of previous)
    if (!records.has(trainer) && record.lastRound > round - o.forgetAfterRounds) records.set(trainer, record);
  const energies = silentRows.map((r) => [...r.values()].reduce((a, b) => a + b, 0));
  // Infinity turns it off (Infinity × a zero median would be NaN).
  const pushBound = o.pushFactor === Infinity ? Infinity : Math.max(o.minPush, o.pushFactor * median(pushes));
  const over = cosines.map(
    (c, i) => trainers.length >= o.minUpdates && energies[i]! >= o.minEnergy && c > o.maxCosine,
  );
  const pushed = pushes.map((p) => trainers.length >= o.minUpdates && p > pushBound);
  return { records, cosines, along, pushes, pushBound, over, pushed };
}

/** `rows` without those under `floor` × `energy`, then only the `maxRows` most energetic (see `forgetRowBelow`). */
function boundedRows(
  rows: Map<number, Float32Array>,
  energy: number,
  floor: number,
  maxRows: number,
): Map<number, Float32Array> {
  const kept = [...rows].map(([g, v]) => ({ g, v, e: dot(v, v) })).filter((r) => r.e >= floor * energy);
  if (kept.length > maxRows) kept.sort((a, b) => b.e - a.e || a.g - b.g).length = maxRows;
  return new Map(kept.sort((a, b) => a.g - b.g).map((r) => [r.g, r.v]));
}
