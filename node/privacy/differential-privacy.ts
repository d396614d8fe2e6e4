/**
 * Differential privacy for updates: each trainer clips its update to L2 norm `clipNorm` and adds Gaussian
 * noise of standard deviation `noiseMultiplier · clipNorm` before it commits, so the aggregate stays
 * provable (the noise is part of the committed update). The accountant tracks Rényi DP (Mironov 2017) of
 * the sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019) and converts it to (epsilon, delta).
 */
import type { Rng } from "../core/rng.ts";
import { clipToNorm } from "../core/updates.ts";

export interface DpOptions {
  readonly clipNorm: number;
  readonly noiseMultiplier: number;
}

/** Clips to `clipNorm` and adds N(0, (noiseMultiplier · clipNorm)²) to every coordinate. */
export function privatizeUpdate(update: Float32Array, options: DpOptions, rng: Rng): Float32Array {
  if (!(options.clipNorm > 0) || !(options.noiseMultiplier >= 0))
    throw new RangeError("clipNorm must be > 0 and noiseMultiplier >= 0");
  const clipped = clipToNorm(update, options.clipNorm);
  const std = options.noiseMultiplier * options.clipNorm;
  for (let i = 0; i < clipped.length; i++) clipped[i]! += std * rng.normal();
  return clipped;
}

/** Default Rényi orders, as in TF Privacy / Opacus. */
export const DEFAULT_ORDERS: readonly number[] = [
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 53 }, (_, i) => 12 + i),
  128,
  256,
];

function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const hi = Math.max(a, b);
  return hi + Math.log1p(Math.exp(Math.min(a, b) - hi));
}

function logBinomial(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/** RDP of one step of the sampled Gaussian mechanism at integer order `alpha`. */
function rdpIntegerOrder(q: number, sigma: number, alpha: number): number {
  if (q === 1) return alpha / (2 * sigma * sigma);
  let logA = -Infinity;
  for (let k = 0; k <= alpha; k++) {
    const term =
      logBinomial(alpha, k) +
      k * Math.log(q) +
      (alpha - k) * Math.log1p(-q) +
      (k * k - k) / (2 * sigma * sigma);
    logA = logAdd(logA, term);
  }
  return logA / (alpha - 1);
}

/**
 * RDP of one step at any order > 1: exact for q = 1 and for integer orders; for fractional orders with
 * q < 1 it interpolates between neighbouring integer orders on the convex log-moment curve (an upper bound).
 */
export function sampledGaussianRdp(q: number, sigma: number, alpha: number): number {
  if (!(q > 0 && q <= 1) || !(sigma > 0) || !(alpha > 1))
    throw new RangeError("need 0 < q <= 1, sigma > 0, alpha > 1");
  if (q === 1 || Number.isInteger(alpha)) return rdpIntegerOrder(q, sigma, alpha);
  const lo = Math.floor(alpha);
  const hi = lo + 1;
  const logMoment = (a: number) => (a - 1) * (a <= 1 ? 0 : rdpIntegerOrder(q, sigma, a));
  const t = alpha - lo;
  return ((1 - t) * logMoment(lo) + t * logMoment(hi)) / (alpha - 1);
}

/** Tracks composition over rounds and reports (epsilon, delta). */
export class RdpAccountant {
  private readonly orders: readonly number[];
  private readonly rdp: number[];

  constructor(orders: readonly number[] = DEFAULT_ORDERS) {
    this.orders = orders;
    this.rdp = orders.map(() => 0);
  }

  /** Adds `steps` applications of the sampled Gaussian mechanism. */
  compose(q: number, sigma: number, steps: number): void {
    this.orders.forEach((alpha, i) => (this.rdp[i]! += steps * sampledGaussianRdp(q, sigma, alpha)));
  }

  /** Smallest epsilon over the orders for `delta` (Mironov 2017, Prop. 3). */
  epsilon(delta: number): { epsilon: number; order: number } {
    let best = { epsilon: Infinity, order: Number.NaN };
    this.orders.forEach((alpha, i) => {
      const eps = this.rdp[i]! + Math.log(1 / delta) / (alpha - 1);
      if (eps < best.epsilon) best = { epsilon: eps, order: alpha };
    });
    return best;
  }
}
