/**
 * Attacks for evaluating robust aggregation (simulator, benchmarks and the demo only; the node's normal
 * start path never imports this module).
 *
 * - Label flipping (data poisoning): trains on labels mapped y → C − 1 − y.
 * - Sign flipping and scaled (boosted) updates.
 * - Gaussian noise updates.
 * - A Little Is Enough (Baruch et al., NeurIPS 2019): mean − z·std of the honest updates per coordinate.
 * - Inner-product manipulation (Xie et al., UAI 2020): −ε × the honest mean.
 * - Free-riding: zero or stale (previous round's) updates.
 */
import type { Dataset } from "../training/data/dataset.ts";
import { Rng } from "../core/rng.ts";
import { scaleUpdate, signFlip } from "./poison-update.ts";
import { meanAndStd } from "./update-attack.ts";
import { mapFloat32 } from "../core/vectors.ts";

export type AttackName = "label-flip" | "sign-flip" | "scaled" | "gaussian" | "alie" | "ipm" | "free-ride";

export const ATTACKS: readonly AttackName[] = [
  "label-flip",
  "sign-flip",
  "scaled",
  "gaussian",
  "alie",
  "ipm",
  "free-ride",
];

/** Label flipping: a copy of the dataset with y → classes − 1 − y. */
export function flipLabels(data: Dataset): Dataset {
  return { ...data, labels: Uint8Array.from(data.labels, (y) => data.classes - 1 - y) };
}

/** ALIE's z for n workers of which f are Byzantine (Baruch et al. 2019, Eq. for z_max). */
export function alieZ(n: number, f: number): number {
  const s = Math.floor(n / 2 + 1) - f;
  const p = (n - s) / n;
  // Inverse normal CDF (Acklam's rational approximation), adequate for p in (0.5, 1).
  const a = [
    -39.6968302866538, 220.946098424521, -275.928510446969, 138.357751867269, -30.6647980661472,
    2.50662827745924,
  ];
  const b = [-54.4760987982241, 161.585836858041, -155.698979859887, 66.8013118877197, -13.2806815528857];
  const q = Math.max(1e-6, Math.min(p, 1 - 1e-6)) - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/**
 * The updates Byzantine nodes send, given the honest updates (an omniscient adversary, the strongest case)
 * and their own honestly trained updates (used by the update-level attacks).
 */
export function maliciousUpdates(
  attack: Exclude<AttackName, "label-flip">,
  own: readonly Float32Array[],
  honest: readonly Float32Array[],
  options: { n: number; f: number; seed: number; previous?: readonly Float32Array[] },
): Float32Array[] {
  const rng = new Rng(options.seed);
  switch (attack) {
    case "sign-flip":
      return own.map((u) => signFlip(u));
    case "scaled":
      return own.map((u) => scaleUpdate(u));
    case "gaussian": {
      const { std } = meanAndStd(honest);
      const sigma = 10 * Math.max(...std);
      return own.map((u) => mapFloat32(u, () => sigma * rng.normal()));
    }
    case "alie": {
      const { mean, std } = meanAndStd(honest);
      const z = alieZ(options.n, options.f);
      return own.map(() => mapFloat32(mean, (m, i) => m - z * std[i]!));
    }
    case "ipm": {
      const { mean } = meanAndStd(honest);
      return own.map(() => mapFloat32(mean, (m) => -0.5 * m));
    }
    case "free-ride":
      return own.map((u, i) => options.previous?.[i] ?? new Float32Array(u.length));
  }
}
