/** The round protocol's participant and the types its callers (runtime, demo, benches) use. */
export { RoundParticipant } from "./participant.ts";
export { AGGREGATOR_TOPIC } from "./context.ts";
export type { ParticipantEvents, ParticipantOptions, RoundOutcome, RoundView } from "./context.ts";
export type { AdversarialBehaviour } from "../../adversary/index.ts";
