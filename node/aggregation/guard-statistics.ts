/**
 * Order statistics and direction measures the guarded mean (guarded-mean.ts) is built from: a file of their own
 * so the rule's file holds the decision and its reasons.
 */

/** The median (0 for none). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  return n === 0 ? 0 : n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/** The largest of `values` after dropping the `trim` largest: at most `trim` outliers cannot raise it. */
export function upperHonest(values: readonly number[], trim: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.max(0, sorted.length - 1 - trim)]!;
}

/** Dot product. */
export function dot(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Σ row·ref over the coordinates both move, over √Σ (row·ref)²: a self-normalised sum, about ±1 when one
 * product (or several of random sign) makes the dot product, -√k when k equal products all disagree. It says
 * how many coordinates the sign of a cosine rests on, which a sparse (top-k) update's cosine alone does not.
 */
export function directionEvidence(row: Float32Array, reference: Float32Array | Float64Array): number {
  let sum = 0;
  let squares = 0;
  for (let j = 0; j < row.length; j++) {
    const p = row[j]! * reference[j]!;
    sum += p;
    squares += p * p;
  }
  return squares === 0 ? 0 : sum / Math.sqrt(squares);
}

/** Coordinate-wise median of the `members` rows. */
export function coordinateMedian(rows: readonly Float32Array[], members: readonly number[]): Float64Array {
  const size = rows[0]!.length;
  const m = members.length;
  const out = new Float64Array(size);
  const column = new Float64Array(m);
  for (let j = 0; j < size; j++) {
    for (let k = 0; k < m; k++) {
      const x = rows[members[k]!]![j]!;
      let p = k;
      for (; p > 0 && column[p - 1]! > x; p--) column[p] = column[p - 1]!;
      column[p] = x;
    }
    out[j] = m % 2 === 1 ? column[(m - 1) / 2]! : (column[m / 2 - 1]! + column[m / 2]!) / 2;
  }
  return out;
}
