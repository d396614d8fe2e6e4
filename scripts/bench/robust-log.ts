/** bench:robust's per-round decision lines (`--log`, `--evidence`). */
/**
 * `--log`: one line per round with each trainer's decision (B = Byzantine, H = honest; the weight, or the
 * rejection reasons), to see which honest trainers a rule turns away and why; `--evidence` adds the
 * measurements each decision rests on (how far an attacker sits from each bound).
 */
export function logDecision(
  round: number,
  f: number,
  result: {
    acceptedWeights?: readonly number[];
    reasons?: readonly (readonly string[])[];
    evidence?: readonly string[];
  },
): void {
  const cells = (result.acceptedWeights ?? []).map((w, i) => {
    const who = `${i < f ? "B" : "H"}${i}`;
    const why = result.reasons?.[i] ?? [];
    return w > 0
      ? `${who}:${w}${why.length > 0 ? `(${why.join("+")})` : ""}`
      : `${who}:x(${why.join("+") || "0"})`;
  });
  process.stdout.write(`  round ${round}: ${cells.join(" ")}\n`);
  if (process.argv.includes("--evidence"))
    result.evidence?.forEach((e, i) => process.stdout.write(`    ${i < f ? "B" : "H"}${i}: ${e}\n`));
}

/** `--log`: print each round's decisions. */
export const log = process.argv.includes("--log");
