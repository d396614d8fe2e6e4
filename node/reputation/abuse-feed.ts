/**
 * Protocol violations feed reputation: every violation the mesh's abuse ledger records against an admitted
 * peer (node/p2p/abuse.ts) becomes `protocol-violation` evidence against its operator, weighted by its points
 * as a share of the abuse threshold, and every refusal for abuse becomes `abuse-refusal` evidence. The ledger
 * decides the short-term refusal (points decay in minutes); reputation keeps the longer memory that ranks the
 * operator's peers for slots, pruning and work (evidence decays in weeks), so both tell the same story.
 */
import { ABUSE_POINTS, ABUSE_THRESHOLD_POINTS } from "../p2p/abuse.ts";
import type { AbuseLedger, AbuseReport } from "../p2p/abuse.ts";
import type { Operator, ReputationBook } from "./book.ts";

/** Starts feeding `abuse` into `book`; returns the function that stops it. */
export function feedAbuseToReputation(abuse: AbuseLedger, book: ReputationBook): () => void {
  const onViolation = (event: CustomEvent<AbuseReport>): void => {
    const { operator, kind } = event.detail;
    // Violations of peers whose operator is unknown (not admitted) have nobody to charge.
    if (operator === undefined) return;
    book.apply({
      kind: "protocol-violation",
      operator: operator.toLowerCase() as Operator,
      severity: Math.min(1, ABUSE_POINTS[kind] / ABUSE_THRESHOLD_POINTS),
    });
  };
  const onAbusive = (event: CustomEvent<AbuseReport>): void => {
    const { operator } = event.detail;
    if (operator === undefined) return;
    book.apply({ kind: "abuse-refusal", operator: operator.toLowerCase() as Operator });
  };
  abuse.addEventListener("violation", onViolation);
  abuse.addEventListener("abusive", onAbusive);
  return () => {
    abuse.removeEventListener("violation", onViolation);
    abuse.removeEventListener("abusive", onAbusive);
  };
}
