/**
 * The one attack system: update-level attacks for the simulator (`attacks.ts`) and the behaviours a node in
 * the demo or the tests plays in real rounds (one file each), composed from the node's switches.
 */
import { poisonWithTrigger } from "./backdoor.ts";
import { cheatAggregate } from "./cheat-aggregate.ts";
import { cheatPartial } from "./cheat-partial.ts";
import { corruptChunk } from "./corrupt-chunk.ts";
import { corruptChunks } from "./corrupt-chunks.ts";
import { equivocate } from "./equivocate.ts";
import { lieInProof } from "./lie-in-proof.ts";
import { poisonUpdate } from "./poison-update.ts";
import { HONEST_ADVERSARY } from "./round-adversary.ts";
import { withholdAggregate } from "./withhold-aggregate.ts";
import { withholdUpdate } from "./withhold-update.ts";
import type { AdversarialBehaviour, RoundAdversary } from "./round-adversary.ts";

export { HONEST_ADVERSARY } from "./round-adversary.ts";
export type { AdversarialBehaviour, RoundAdversary } from "./round-adversary.ts";

/**
 * The adversary a node's switches describe. The switches are read at every call (a test may turn a
 * behaviour on for one round); with none set, every hook is the honest one.
 */
export function roundAdversary(switches: AdversarialBehaviour | undefined): RoundAdversary {
  if (switches === undefined) return HONEST_ADVERSARY;
  const cheat = cheatAggregate();
  const liar = lieInProof();
  const partial = cheatPartial();
  const withhold = withholdUpdate();
  const equivocation = equivocate();
  const withholdBlob = withholdAggregate();
  return {
    trainingData: (data) => (switches.poisonData === "backdoor" ? poisonWithTrigger(data) : data),
    transformUpdate: (delta) =>
      switches.poison === undefined ? delta : poisonUpdate(switches.poison).transformUpdate(delta),
    transformAggregate: (aggregate) => {
      if (switches.corruptChunk !== undefined)
        corruptChunk(switches.corruptChunk).transformAggregate(aggregate);
      if (switches.corruptFraction !== undefined)
        corruptChunks(switches.corruptFraction).transformAggregate(aggregate);
      return switches.cheatAggregate === true ? cheat.transformAggregate(aggregate) : aggregate;
    },
    transformPartial: (p) => (switches.cheatPartial === true ? partial.transformPartial(p) : p),
    answersChallenges: () =>
      switches.cheatAggregate !== true ||
      (switches.lieInProof === true ? liar.answersChallenges() : cheat.answersChallenges()),
    proofWitness: (updates, aggregate) =>
      switches.lieInProof === true ? liar.proofWitness(updates, aggregate) : updates,
    withholdsUpdate: () => switches.withholdUpdate === true && withhold.withholdsUpdate(),
    equivocation: (commitment) =>
      switches.equivocate === true ? equivocation.equivocation(commitment) : undefined,
    withholdsAggregate: () => switches.withholdAggregate === true && withholdBlob.withholdsAggregate(),
    seedsUpdates: () => switches.seedNobody !== true,
  };
}
