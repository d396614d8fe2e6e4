/**
 * The shape of an update-level attack in the simulator and bench:robust: what the Byzantine trainers send in
 * one round, given their own honestly trained updates and (the omniscient case, the strongest) the honest
 * ones. One attack per file in this folder; `attacks.ts` holds the classic fixed attacks.
 */
import { l2norm } from "../core/updates.ts";
import { mapFloat32 } from "../core/vectors.ts";

export { clipToNorm as withNormAtMost, l2norm as norm } from "../core/updates.ts";

/** Everything an attacker may know in one round. */
export interface AttackRound {
  /** 1-based round number (slow and sleeper attacks depend on it). */
  readonly round: number;
  /** The Byzantine trainers' own honestly trained updates (one per attacker). */
  readonly own: readonly Float32Array[];
  /**
   * What the attackers trained before compression, when the round sends top-k compressed updates (`own` is
   * then what their compressors would send, as an honest node in their place would). Absent on dense rounds.
   */
  readonly ownRaw?: readonly Float32Array[];
  /**
   * The model's coordinate groups by input row (aggregation/coordinate-groups.ts): public, from the task's
   * model layout. Absent when the caller does not give them.
   */
  readonly groups?: Uint32Array;
  /** The honest trainers' updates of this round (omniscient adversary). */
  readonly honest: readonly Float32Array[];
  /** Group size and Byzantine count. */
  readonly n: number;
  readonly f: number;
  readonly seed: number;
  /**
   * The rule's own decision, for adaptive attackers: the weight it would give each update of the round if
   * the attackers sent `candidates` (one per attacker) alongside the honest updates; the attackers' weights
   * first, then the honest ones in `honest` order (0: rejected). Absent when the rule is not known.
   */
  readonly weigh?: (candidates: readonly Float32Array[]) => readonly number[];
  /**
   * The same question asked of the rule's per-round guard alone, without its trainer history (for rules
   * without history, the rule itself). Absent when the rule is not known.
   */
  readonly guard?: (candidates: readonly Float32Array[]) => readonly number[];
}

/** An update-level attack: the updates the `f` attackers send this round (one per attacker). */
export interface UpdateAttack {
  readonly name: string;
  craft(round: AttackRound): Float32Array[];
}

/** Per-coordinate mean and standard deviation of `updates`. */
export function meanAndStd(updates: readonly Float32Array[]): { mean: Float32Array; std: Float32Array } {
  const n = updates.length;
  const size = updates[0]!.length;
  const mean = new Float64Array(size);
  const variance = new Float64Array(size);
  for (const u of updates) for (let i = 0; i < size; i++) mean[i]! += u[i]! / n;
  for (const u of updates) for (let i = 0; i < size; i++) variance[i]! += (u[i]! - mean[i]!) ** 2 / n;
  return { mean: Float32Array.from(mean), std: mapFloat32(variance, Math.sqrt) };
}

/** The median of the L2 norms of `updates` (the benign range's typical norm). */
export function medianNorm(updates: readonly Float32Array[]): number {
  const norms = updates.map(l2norm).sort((a, b) => a - b);
  return norms[Math.floor(norms.length / 2)] ?? 0;
}
