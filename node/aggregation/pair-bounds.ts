/**
 * Where honest trainers' deviation cosines lie by chance in one round (the guarded mean's near-duplicate and
 * coordinated-group bounds, guarded-mean.ts): pair cosines taken as about normal around a typical value with a
 * typical spread, both medians over the members so that a minority of attackers moves neither much.
 */

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  return n === 0 ? 0 : n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/** The typical pair cosine and its spread among `members` (see `honestPairMaximum`); undefined for < 1 centre. */
function typicalPair(
  cosines: ReadonlyMap<number, number>,
  n: number,
  members: readonly number[],
): { centre: number; spread: number; members: number } | undefined {
  const centres: number[] = [];
  const spreads: number[] = [];
  for (const a of members) {
    const own = members.flatMap((b) => {
      const c = b === a ? undefined : cosines.get(a * n + b);
      return c === undefined ? [] : [c];
    });
    if (own.length < 2) continue;
    const m = median(own);
    centres.push(m);
    spreads.push(1.4826 * median(own.map((c) => Math.abs(c - m))));
  }
  return centres.length === 0
    ? undefined
    : { centre: median(centres), spread: median(spreads), members: centres.length };
}

/**
 * How high the largest of the honest pairs' deviation cosines goes by chance among `members`: with pair cosines
 * about normal around a typical value m with spread s, the largest of P pairs exceeds m + s·√(2 ln(P / α)) with
 * probability at most α (the Gaussian tail e^(-z²/2), union over the pairs). m and s are the medians over the
 * members (of `n` updates; the key of pair (a, b) is a·n + b) of each one's median pair cosine and its 1.4826 × median absolute deviation: an honest member's pairs
 * are mostly with honest members, so the attackers (who take part in half the pairs at 30%) move neither much.
 * At most `cap`. Pairs exempt from the comparison (both partial work) are not in `cosines`.
 */
export function honestPairMaximum(
  cosines: ReadonlyMap<number, number>,
  n: number,
  members: readonly number[],
  falseAlarm: number,
  cap: number,
): number {
  const typical = typicalPair(cosines, n, members);
  if (typical === undefined) return -1;
  const pairs = (typical.members * (typical.members - 1)) / 2;
  return Math.min(cap, typical.centre + typical.spread * Math.sqrt(2 * Math.log(pairs / falseAlarm)));
}

/**
 * How high any member's `partners`-th largest pair cosine goes by chance: it exceeds m + s·z only if that many
 * of its pairs do, each with probability at most e^(-z²/2) were they independent, so (union over the k members
 * and their C(k - 1, partners) sets of partners) with probability at most k·C(k - 1, partners)·e^(-partners·z²/2).
 * z is set so that this is `falseAlarm`. m and s as in `honestPairMaximum`.
 */
export function honestGroupMaximum(
  cosines: ReadonlyMap<number, number>,
  n: number,
  members: readonly number[],
  partners: number,
  falseAlarm: number,
): number {
  const typical = typicalPair(cosines, n, members);
  if (typical === undefined) return Infinity;
  const k = typical.members;
  let sets = 1;
  for (let p = 0; p < partners; p++) sets = (sets * (k - 1 - p)) / (p + 1);
  const events = Math.max(1, k * sets);
  return typical.centre + typical.spread * Math.sqrt((2 * Math.log(events / falseAlarm)) / partners);
}
